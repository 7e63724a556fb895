//! The compact text record plugins keep their per-driver state in: many named
//! values in one kv field, `name=value;name=value`.
//!
//! A plugin that kept each value in its own hash field made Redis, the host
//! and the plugin handle two strings per value on every read and write (about
//! forty per driver and batch for eta); one record per concern (the trip, the
//! plugin's own state) makes that two or four, and stays readable with
//! `redis-cli HGET`. The plugin SDK writes and reads records through
//! `fleethost_plugin_sdk::record`; the host reads the eta plugin's trips for
//! the live map with [`decode`].
//!
//! The crate also holds, in [`names`], the Redis keys and pub/sub channels
//! the plugins write and the host's tracking service reads: the one crate
//! both sides already build with.
//!
//! In values, `%` is written `%25` and `;` `%3B`; names are plain (no `;`,
//! `=` or `%`). Values are kept as text, exactly as the plugin formatted them.
//!
//! ```
//! let mut writer = fleethost_record::Writer::new();
//! writer.value("order_id", "o;1").value("eta_s", 90).optional("ended_ms", None::<i64>);
//! let text = writer.finish();
//! assert_eq!(text, "order_id=o%3B1;eta_s=90;ended_ms=");
//! let values: Vec<(&str, String)> = fleethost_record::decode(&text).map(|(name, value)| (name, value.into_owned())).collect();
//! assert_eq!(values, [("order_id", "o;1".into()), ("eta_s", "90".into()), ("ended_ms", "".into())]);
//! ```

mod decimal;
mod decode;
pub mod names;
pub mod scan;

use std::fmt::{self, Display, Write};

pub use decimal::{Decimal, push_decimal};
pub use decode::decode;

/// A record being written, value by value, straight into its text (no string
/// per value: plugins write one per driver and batch).
#[derive(Debug, Default)]
pub struct Writer {
    text: String,
}

impl Writer {
    /// An empty record.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `name` with `value` as its `Display` writes it, escaped. Write an
    /// `f64` as [`Decimal`]: the same text, faster.
    pub fn value(&mut self, name: &str, value: impl Display) -> &mut Self {
        debug_assert!(!name.contains([';', '=', '%']), "record names are plain: {name:?}");
        if !self.text.is_empty() {
            self.text.push(';');
        }
        self.text.push_str(name);
        self.text.push('=');
        write!(Escaping(&mut self.text), "{value}").expect("writing to a String cannot fail");
        self
    }

    /// Adds `name` with `value`, or empty when it is `None`.
    pub fn optional(&mut self, name: &str, value: Option<impl Display>) -> &mut Self {
        match value {
            Some(value) => self.value(name, value),
            None => self.value(name, ""),
        }
    }

    /// The record's text.
    pub fn finish(self) -> String {
        self.text
    }
}

/// Writes text into a record value, escaping `%` and `;`.
struct Escaping<'a>(&'a mut String);

impl Write for Escaping<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        // Bytes, not `contains(['%', ';'])`, which decodes every char.
        if !text.bytes().any(|byte| byte == b'%' || byte == b';') {
            self.0.push_str(text);
            return Ok(());
        }
        for character in text.chars() {
            match character {
                '%' => self.0.push_str("%25"),
                ';' => self.0.push_str("%3B"),
                other => self.0.push(other),
            }
        }
        Ok(())
    }
}

/// The record of `values` (name, value), in the given order.
pub fn encode<'a>(values: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut writer = Writer::new();
    for (name, value) in values {
        writer.value(name, value);
    }
    writer.finish()
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    #[test]
    fn values_round_trip_whatever_they_hold() {
        let values = [
            ("empty", ""),
            ("separators", "a;b=c;;"),
            ("escapes", "%3B%25%"),
            ("text", "to_pickup"),
            ("number", "12.971599"),
        ];
        let text = encode(values);
        let decoded: Vec<(&str, Cow<'_, str>)> = decode(&text).collect();
        let expected: Vec<(&str, Cow<'_, str>)> = values
            .iter()
            .map(|(name, value)| (*name, Cow::Borrowed(*value)))
            .collect();
        assert_eq!(decoded, expected);
    }

    #[test]
    fn numbers_are_written_as_display_writes_them() {
        let mut writer = Writer::new();
        writer
            .value("lat", 12.9716_f64)
            .value("ts", -5_i64)
            .optional("none", None::<f64>)
            .optional("some", Some(0.5));
        assert_eq!(writer.finish(), "lat=12.9716;ts=-5;none=;some=0.5");
    }

    #[test]
    fn a_value_may_hold_equals_signs_and_a_record_may_end_with_a_separator() {
        let decoded: Vec<(&str, Cow<'_, str>)> = decode("a=b=c;d=%25x;;e=;").collect();
        assert_eq!(
            decoded,
            [
                ("a", Cow::Borrowed("b=c")),
                ("d", Cow::Owned("%x".to_string())),
                ("e", Cow::Borrowed(""))
            ]
        );
    }

    #[test]
    fn an_empty_record_has_no_values() {
        assert_eq!(encode([]), "");
        assert_eq!(decode("").count(), 0);
        assert_eq!(decode("junk;a=1").collect::<Vec<_>>(), [("a", Cow::Borrowed("1"))]);
    }
}
