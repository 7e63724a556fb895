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
//! In values, `%` is written `%25` and `;` `%3B`; names are plain (no `;`,
//! `=` or `%`). Values are kept as text, exactly as the plugin formatted them.
//!
//! ```
//! let text = fleethost_record::encode([("order_id", "o;1"), ("eta_s", "90")]);
//! assert_eq!(text, "order_id=o%3B1;eta_s=90");
//! let values: Vec<(&str, String)> = fleethost_record::decode(&text).collect();
//! assert_eq!(values, [("order_id", "o;1".to_string()), ("eta_s", "90".to_string())]);
//! ```

/// The record of `values` (name, value), in the given order.
pub fn encode<'a>(values: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut text = String::new();
    for (name, value) in values {
        debug_assert!(!name.contains([';', '=', '%']), "record names are plain: {name:?}");
        if !text.is_empty() {
            text.push(';');
        }
        text.push_str(name);
        text.push('=');
        if value.contains(['%', ';']) {
            text.push_str(&value.replace('%', "%25").replace(';', "%3B"));
        } else {
            text.push_str(value);
        }
    }
    text
}

/// The values of a record, in order; a part without `=` (not written by
/// [`encode`]) is skipped.
pub fn decode(text: &str) -> impl Iterator<Item = (&str, String)> {
    text.split(';').filter_map(|part| {
        let (name, value) = part.split_once('=')?;
        let value = if value.contains('%') {
            value.replace("%3B", ";").replace("%25", "%")
        } else {
            value.to_string()
        };
        Some((name, value))
    })
}

#[cfg(test)]
mod tests {
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
        let decoded: Vec<(&str, String)> = decode(&text).collect();
        let expected: Vec<(&str, String)> = values.iter().map(|(name, value)| (*name, value.to_string())).collect();
        assert_eq!(decoded, expected);
    }

    #[test]
    fn an_empty_record_has_no_values() {
        assert_eq!(encode([]), "");
        assert_eq!(decode("").count(), 0);
        assert_eq!(decode("junk;a=1").collect::<Vec<_>>(), [("a", "1".to_string())]);
    }
}
