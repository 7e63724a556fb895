//! A tiny writer of flat JSON objects, for the messages plugins publish.
//!
//! Plugin messages are flat objects of strings and numbers. Writing them by
//! hand keeps the SDK, and every plugin built on it, free of a serialisation
//! dependency: serde_json would make each plugin's wasm several times larger.
//!
//! ```
//! use fleethost_plugin_sdk::json::JsonObject;
//!
//! let text = JsonObject::new().string("order_id", "o-1").number("fare", 52.5).integer("ts_ms", 7).finish();
//! assert_eq!(text, r#"{"order_id":"o-1","fare":52.5,"ts_ms":7}"#);
//! ```

use std::fmt::Write;

use fleethost_record::{push_decimal, scan};

/// A flat JSON object being written, field by field, in the order the fields
/// are added (consumers and tests see the fields in a fixed order).
#[derive(Debug)]
pub struct JsonObject {
    text: String,
}

impl Default for JsonObject {
    fn default() -> Self {
        Self::new()
    }
}

impl JsonObject {
    /// An empty object. Room for a typical message is reserved at once
    /// (growing the text step by step cost more than writing it).
    pub fn new() -> Self {
        let mut text = String::with_capacity(128);
        text.push('{');
        Self { text }
    }

    fn key(&mut self, key: &str) {
        if self.text.len() > 1 {
            self.text.push(',');
        }
        push_string(&mut self.text, key);
        self.text.push(':');
    }

    /// Adds a string field.
    pub fn string(mut self, key: &str, value: &str) -> Self {
        self.key(key);
        push_string(&mut self.text, value);
        self
    }

    /// Adds a number field; a non-finite number is written as `null`, since
    /// JSON has no NaN or infinity.
    pub fn number(mut self, key: &str, value: f64) -> Self {
        self.key(key);
        if value.is_finite() {
            // Never an exponent, and reads back as the same number.
            push_decimal(&mut self.text, value);
        } else {
            self.text.push_str("null");
        }
        self
    }

    /// Adds a number field from text already formatted, for a number also
    /// written elsewhere (formatted once): the `Display` of a finite `f64`
    /// or of an integer. Other text would make the object invalid JSON.
    pub fn number_text(mut self, key: &str, value: &str) -> Self {
        debug_assert!(
            value.parse::<f64>().is_ok_and(f64::is_finite),
            "not a JSON number: {value:?}"
        );
        self.key(key);
        self.text.push_str(value);
        self
    }

    /// Adds an integer field (written exactly, unlike a conversion to f64).
    pub fn integer(mut self, key: &str, value: i64) -> Self {
        self.key(key);
        let _ = write!(self.text, "{value}");
        self
    }

    /// The finished object's text.
    pub fn finish(mut self) -> String {
        self.text.push('}');
        self.text
    }
}

/// Appends `value` as a JSON string literal, escaping what JSON requires.
///
/// Every character JSON escapes is ASCII, so the text is searched as bytes,
/// eight at a time ([`scan`]), and copied in runs between escapes: pushing it
/// char by char, or searching it a byte per step, was a visible share of the
/// host's CPU running live-location as wasm (measured in the benchmark,
/// docs/perf-log.md; keys and driver ids rarely need escapes).
fn push_string(text: &mut String, value: &str) {
    text.push('"');
    let bytes = value.as_bytes();
    let mut copied = 0;
    while let Some(found) = next_escaped(bytes, copied) {
        text.push_str(&value[copied..found]);
        match bytes[found] {
            b'"' => text.push_str("\\\""),
            b'\\' => text.push_str("\\\\"),
            b'\n' => text.push_str("\\n"),
            b'\r' => text.push_str("\\r"),
            b'\t' => text.push_str("\\t"),
            control => {
                let _ = write!(text, "\\u{control:04x}");
            }
        }
        copied = found + 1;
    }
    text.push_str(&value[copied..]);
    text.push('"');
}

/// The first byte from `start` on that JSON escapes: `"`, `\` or a control
/// character.
fn next_escaped(bytes: &[u8], start: usize) -> Option<usize> {
    let mut chunk = start;
    while chunk + 8 <= bytes.len() {
        let word = scan::word_at(bytes, chunk);
        let marks = scan::equal(word, b'"') | scan::equal(word, b'\\') | scan::below(word, 0x20);
        if marks != 0 {
            return Some(chunk + scan::first(marks));
        }
        chunk += 8;
    }
    // The last few bytes one by one (zeros past the end would count as
    // control characters in a word).
    bytes[chunk..]
        .iter()
        .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20)
        .map(|offset| chunk + offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_formatted_once_is_written_as_it_is() {
        let latitude = 12.971599_f64.to_string();
        let text = JsonObject::new().number_text("lat", &latitude).integer("n", 1).finish();
        assert_eq!(text, r#"{"lat":12.971599,"n":1}"#);
    }

    #[test]
    fn writes_escaped_strings_and_numbers() {
        let text = JsonObject::new()
            .string("id", "a\"b\\c\n\u{1}é")
            .number("x", 1.5)
            .number("big", 1e21)
            .number("bad", f64::NAN)
            .integer("n", -3)
            .finish();
        assert_eq!(
            text,
            r#"{"id":"a\"b\\c\n\u0001é","x":1.5,"big":1000000000000000000000,"bad":null,"n":-3}"#
        );
        assert_eq!(JsonObject::new().finish(), "{}");
    }

    #[test]
    fn any_string_reads_back_the_same_whatever_its_escapes_and_their_offsets() {
        let pieces = ["a", "\"", "\\", "\n", "\u{1}", "\u{1f}", "é", "bcdefgh", " "];
        let strings = scan::texts_of(&pieces, 4);
        for value in &strings {
            let text = JsonObject::new().string("v", value).finish();
            let read: std::collections::HashMap<String, String> =
                serde_json::from_str(&text).unwrap_or_else(|error| panic!("{text}: {error}"));
            assert_eq!(read["v"], *value, "{text}");
        }
    }
}
