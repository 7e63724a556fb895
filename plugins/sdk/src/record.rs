//! Several of a plugin's values in one kv hash field: a record
//! (`name=value;name=value`, the format of the `fleethost-record` crate).
//!
//! A plugin reads and writes every driver of a batch; with one hash field per
//! value, each value costs Redis, the host and the plugin two strings per read
//! and per write. Packing the values of one concern (the trip, the plugin's own
//! state) into one field keeps that to a few strings per driver, whatever the
//! state holds, and `redis-cli HGET key trip` still shows them.
//!
//! A plugin writes a record with a [`Writer`] (straight into its text; an
//! `f64` as [`Decimal`]: the text of its `Display`, faster in wasm) and reads
//! a hash through [`Values`], which borrows from the hash instead of copying
//! each value. Values keep the names they would have as fields, and
//! [`Values`] also holds the hash's loose fields, so a plugin reads both
//! layouts: a hash written by an older plugin version, one field per value,
//! keeps working after a hot reload.

use std::borrow::Cow;
use std::str::FromStr;

pub use fleethost_record::{Decimal, Writer, decode, encode, push_decimal};

use crate::inline_str;
use crate::kv::FieldValue;

/// The hash field `name` holding the record `writer` wrote.
///
/// Write every value the record can hold, empty when unset
/// ([`Writer::optional`]): the record's values then shadow any field of the
/// same name that an older version of the plugin wrote one per field (see
/// [`Values::of`]).
pub fn field(name: &str, writer: Writer) -> FieldValue {
    FieldValue {
        field: name.to_string(),
        value: writer.finish(),
    }
}

/// The values of a hash, by name: the values of its records first, then its
/// loose fields; borrowed from the hash.
#[derive(Debug)]
pub struct Values<'a> {
    values: Vec<(&'a str, Cow<'a, str>)>,
}

impl<'a> Values<'a> {
    /// The values of `fields` with the records named in `records` unpacked.
    /// A lookup finds a record's value before a stale field of the same name
    /// left in the hash by the one-field-per-value layout.
    pub fn of(fields: &'a [FieldValue], records: &[&str]) -> Self {
        let is_record = |field: &FieldValue| records.iter().any(|record| inline_str::equal(record, &field.field));
        let mut values: Vec<(&'a str, Cow<'a, str>)> = Vec::with_capacity(fields.len() + 16);
        for record in fields.iter().filter(|field| is_record(field)) {
            values.extend(decode(&record.value));
        }
        values.extend(
            fields
                .iter()
                .filter(|field| !is_record(field))
                .map(|field| (field.field.as_str(), Cow::Borrowed(field.value.as_str()))),
        );
        Self { values }
    }

    /// The text of the first value named `name`.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(known, _)| inline_str::equal(known, name))
            .map(|(_, value)| value.as_ref())
    }

    /// The value named `name`, parsed; `None` when absent, empty or malformed.
    pub fn parse<T: FromStr>(&self, name: &str) -> Option<T> {
        self.text(name)?.parse().ok()
    }

    /// Every value, in lookup order, as fields (tests and tools: the
    /// one-field-per-value view of a hash).
    pub fn to_fields(&self) -> Vec<FieldValue> {
        self.values
            .iter()
            .map(|(field, value)| FieldValue {
                field: field.to_string(),
                value: value.to_string(),
            })
            .collect()
    }
}

/// `fields` with the records named in `records` unpacked into one field per
/// value, records first (see [`Values::of`]).
pub fn unpack(fields: &[FieldValue], records: &[&str]) -> Vec<FieldValue> {
    Values::of(fields, records).to_fields()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_field_unpacks_to_its_values() {
        let mut writer = Writer::new();
        writer
            .value("eta_lat", 12.5)
            .value("eta_order", "o;1")
            .optional("eta_sent", None::<i64>);
        let record = field("eta", writer);
        assert_eq!(record, FieldValue::new("eta", "eta_lat=12.5;eta_order=o%3B1;eta_sent="));
        let hash = [record];
        let values = Values::of(&hash, &["eta"]);
        assert_eq!(values.parse::<f64>("eta_lat"), Some(12.5));
        assert_eq!(values.text("eta_order"), Some("o;1"));
        assert_eq!(values.text("eta_sent"), Some(""));
        assert_eq!(values.parse::<i64>("eta_sent"), None);
        assert_eq!(values.text("eta"), None);
        assert_eq!(
            unpack(&hash, &["eta"]),
            [
                FieldValue::new("eta_lat", 12.5),
                FieldValue::new("eta_order", "o;1"),
                FieldValue::new("eta_sent", "")
            ]
        );
    }

    #[test]
    fn a_record_shadows_the_older_one_field_per_value_layout() {
        let mut writer = Writer::new();
        writer.value("eta_lat", 2.0).value("eta_sent", "");
        let hash = vec![
            FieldValue::new("eta_lat", 1.0),
            FieldValue::new("eta_sent", "o-old"),
            FieldValue::new("other", "kept"),
            field("eta", writer),
        ];
        let values = Values::of(&hash, &["eta"]);
        assert_eq!(values.text("eta_lat"), Some("2"));
        assert_eq!(values.text("eta_sent"), Some(""));
        assert_eq!(values.text("other"), Some("kept"));
        assert_eq!(values.text("eta"), None);
        // A hash of the older layout alone reads as it always did.
        assert_eq!(unpack(&hash[..3], &["eta"]), hash[..3].to_vec());
    }
}
