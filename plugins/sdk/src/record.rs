//! Several of a plugin's values in one kv hash field: a record
//! (`name=value;name=value`, the format of the `fleethost-record` crate).
//!
//! A plugin reads and writes every driver of a batch; with one hash field per
//! value, each value costs Redis, the host and the plugin two strings per read
//! and per write. Packing the values of one concern (the trip, the plugin's own
//! state) into one field keeps that to a few strings per driver, whatever the
//! state holds, and `redis-cli HGET key trip` still shows them.
//!
//! Values keep the names they would have as fields, and [`unpack`] turns a
//! record back into those fields, so a plugin's code that reads fields by
//! name reads both layouts: a hash written by an older plugin version, one
//! field per value, keeps working after a hot reload.

pub use fleethost_record::{decode, encode};

use crate::kv::FieldValue;

/// The hash field `name` holding `fields` as one record.
///
/// Pack every value the record can hold, empty when unset: the record's values
/// then shadow any field of the same name that an older version of the plugin
/// wrote one per field (see [`unpack`]).
pub fn pack(name: &str, fields: &[FieldValue]) -> FieldValue {
    FieldValue {
        field: name.to_string(),
        value: encode(fields.iter().map(|field| (field.field.as_str(), field.value.as_str()))),
    }
}

/// `fields` with the records named in `records` replaced by the fields they
/// hold, which come first: a lookup of the first field of a name finds a
/// record's value before a stale field of the same name left in the hash by
/// the one-field-per-value layout.
pub fn unpack(fields: &[FieldValue], records: &[&str]) -> Vec<FieldValue> {
    let is_record = |field: &FieldValue| records.contains(&field.field.as_str());
    let mut unpacked: Vec<FieldValue> = fields
        .iter()
        .filter(|field| is_record(field))
        .flat_map(|record| {
            decode(&record.value).map(|(field, value)| FieldValue {
                field: field.to_string(),
                value,
            })
        })
        .collect();
    unpacked.extend(fields.iter().filter(|field| !is_record(field)).cloned());
    unpacked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_record_unpacks_to_its_fields() {
        let fields = vec![
            FieldValue::new("eta_lat", 12.5),
            FieldValue::new("eta_order", "o;1"),
            FieldValue::new("eta_sent", ""),
        ];
        let record = pack("eta", &fields);
        assert_eq!(record, FieldValue::new("eta", "eta_lat=12.5;eta_order=o%3B1;eta_sent="));
        assert_eq!(unpack(&[record], &["eta"]), fields);
    }

    #[test]
    fn a_record_shadows_the_older_one_field_per_value_layout() {
        let hash = vec![
            FieldValue::new("eta_lat", 1.0),
            FieldValue::new("eta_sent", "o-old"),
            FieldValue::new("other", "kept"),
            pack(
                "eta",
                &[FieldValue::new("eta_lat", 2.0), FieldValue::new("eta_sent", "")],
            ),
        ];
        let unpacked = unpack(&hash, &["eta"]);
        let first = |name: &str| {
            unpacked
                .iter()
                .find(|field| field.field == name)
                .map(|field| field.value.as_str())
        };
        assert_eq!(first("eta_lat"), Some("2"));
        assert_eq!(first("eta_sent"), Some(""));
        assert_eq!(first("other"), Some("kept"));
        assert_eq!(first("eta"), None);
        // A hash of the older layout alone reads as it always did.
        assert_eq!(unpack(&hash[..3], &["eta"]), hash[..3].to_vec());
    }
}
