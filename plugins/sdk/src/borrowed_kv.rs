//! `kv.write` with borrowed arguments: the ops hold `&str`s and slices
//! instead of `String`s and `Vec`s, so a plugin passes constant field names,
//! ids from the batch and text it already formatted without allocating a
//! copy of each. Same WIT import, same host, same results as [`crate::kv`]'s
//! `write`.
//!
//! Why: the owned ops cost one guest allocation (and its free) per key,
//! field name and value, and live-location writes about ten strings per
//! driver (measured in docs/perf-log.md, "After: borrowed kv writes").
//!
//! The bindings of the world are generated a second time, with wit-bindgen's
//! borrowing mode, for the `kv` interface only (every other interface is
//! taken from [`crate::bindings`]); results and errors come back as
//! [`crate::kv`]'s own types, so `?` into [`crate::PluginError`] works as
//! with the owned `write`.

use crate::kv::{KvError, WriteResult};

// Generated code: wit-bindgen's own allows, and the world's exports (never
// exported from here: `export_plugin!` uses `crate::bindings`).
#[allow(clippy::too_many_arguments, clippy::duplicated_attributes, dead_code)]
mod generated {
    wit_bindgen::generate!({
        path: "../../wit/since_v0.3.0",
        world: "plugin",
        ownership: Borrowing { duplicate_if_necessary: true },
        with: {
            "fleethost:plugin/types@0.3.0": crate::bindings::fleethost::plugin::types,
            "fleethost:plugin/log@0.3.0": crate::bindings::fleethost::plugin::log,
            "fleethost:plugin/sql@0.3.0": crate::bindings::fleethost::plugin::sql,
            "fleethost:plugin/produce@0.3.0": crate::bindings::fleethost::plugin::produce,
            "fleethost:plugin/state@0.3.0": crate::bindings::fleethost::plugin::state,
        },
        runtime_path: "fleethost_plugin_sdk::__wit_bindgen::rt",
    });
}

use generated::fleethost::plugin::kv as borrowed;

/// A hash field and its value, borrowed (the WIT `field-value`).
pub use borrowed::FieldValueParam as FieldValue;
pub use borrowed::{GeoMember, HashSetOp, IncrOp, PublishOp, SetOp, UpsertNewerOp, WriteOp};

/// Applies the writes in order, in one round trip (the WIT `kv.write`):
/// [`crate::kv`]'s `write` for borrowed ops.
pub fn write(ops: &[WriteOp<'_>]) -> Result<Vec<WriteResult>, KvError> {
    #[cfg(not(all(feature = "native", not(target_arch = "wasm32"))))]
    {
        borrowed::write(ops)
            .map(|results| results.into_iter().map(owned_result).collect())
            .map_err(owned_error)
    }
    #[cfg(all(feature = "native", not(target_arch = "wasm32")))]
    {
        let ops: Vec<crate::kv::WriteOp> = ops.iter().map(owned_op).collect();
        crate::native::kv::write(&ops)
    }
}

#[cfg(not(all(feature = "native", not(target_arch = "wasm32"))))]
fn owned_result(result: borrowed::WriteResult) -> WriteResult {
    match result {
        borrowed::WriteResult::Done => WriteResult::Done,
        borrowed::WriteResult::Applied(applied) => WriteResult::Applied(applied),
        borrowed::WriteResult::Counter(value) => WriteResult::Counter(value),
    }
}

#[cfg(not(all(feature = "native", not(target_arch = "wasm32"))))]
fn owned_error(error: borrowed::KvError) -> KvError {
    match error {
        borrowed::KvError::Denied(message) => KvError::Denied(message),
        borrowed::KvError::Invalid(message) => KvError::Invalid(message),
        borrowed::KvError::Unavailable(message) => KvError::Unavailable(message),
    }
}

/// The owned op of a borrowed one: what a native build hands its host.
#[cfg_attr(not(any(test, feature = "native")), allow(dead_code))]
fn owned_op(op: &WriteOp<'_>) -> crate::kv::WriteOp {
    use crate::kv as owned;
    let fields = |fields: &[FieldValue<'_>]| -> Vec<owned::FieldValue> {
        fields
            .iter()
            .map(|pair| owned::FieldValue {
                field: pair.field.to_string(),
                value: pair.value.to_string(),
            })
            .collect()
    };
    let geo = |member: &GeoMember<'_>| owned::GeoMember {
        key: member.key.to_string(),
        member: member.member.to_string(),
        longitude: member.longitude,
        latitude: member.latitude,
    };
    match op {
        WriteOp::Set(set) => owned::WriteOp::Set(owned::SetOp {
            key: set.key.to_string(),
            value: set.value.to_string(),
            ttl_ms: set.ttl_ms,
        }),
        WriteOp::HashSet(hash_set) => owned::WriteOp::HashSet(owned::HashSetOp {
            key: hash_set.key.to_string(),
            fields: fields(hash_set.fields),
        }),
        WriteOp::UpsertNewer(upsert) => owned::WriteOp::UpsertNewer(owned::UpsertNewerOp {
            key: upsert.key.to_string(),
            version_field: upsert.version_field.to_string(),
            version: upsert.version,
            fields: fields(upsert.fields),
            geo: upsert.geo.as_ref().map(geo),
        }),
        WriteOp::GeoAdd(member) => owned::WriteOp::GeoAdd(geo(member)),
        WriteOp::Expire((key, ttl_ms)) => owned::WriteOp::Expire((key.to_string(), *ttl_ms)),
        WriteOp::Delete(key) => owned::WriteOp::Delete(key.to_string()),
        WriteOp::Incr(incr) => owned::WriteOp::Incr(owned::IncrOp {
            key: incr.key.to_string(),
            by: incr.by,
            ttl_ms: incr.ttl_ms,
        }),
        WriteOp::Publish(publish) => owned::WriteOp::Publish(owned::PublishOp {
            channel: publish.channel.to_string(),
            message: publish.message.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv as owned;

    #[test]
    fn every_borrowed_op_becomes_the_same_owned_op() {
        let fields = [FieldValue {
            field: "lat",
            value: "12.9",
        }];
        let member = GeoMember {
            key: "geo",
            member: "d1",
            longitude: 77.6,
            latitude: 12.9,
        };
        let owned_fields = vec![owned::FieldValue {
            field: "lat".into(),
            value: "12.9".into(),
        }];
        let owned_member = owned::GeoMember {
            key: "geo".into(),
            member: "d1".into(),
            longitude: 77.6,
            latitude: 12.9,
        };
        let cases = [
            (
                WriteOp::Set(SetOp {
                    key: "k",
                    value: "v",
                    ttl_ms: Some(5),
                }),
                owned::WriteOp::Set(owned::SetOp {
                    key: "k".into(),
                    value: "v".into(),
                    ttl_ms: Some(5),
                }),
            ),
            (
                WriteOp::HashSet(HashSetOp {
                    key: "h",
                    fields: &fields,
                }),
                owned::WriteOp::HashSet(owned::HashSetOp {
                    key: "h".into(),
                    fields: owned_fields.clone(),
                }),
            ),
            (
                WriteOp::UpsertNewer(UpsertNewerOp {
                    key: "driver:d1",
                    version_field: "ts_ms",
                    version: 7,
                    fields: &fields,
                    geo: Some(member.clone()),
                }),
                owned::WriteOp::UpsertNewer(owned::UpsertNewerOp {
                    key: "driver:d1".into(),
                    version_field: "ts_ms".into(),
                    version: 7,
                    fields: owned_fields.clone(),
                    geo: Some(owned_member.clone()),
                }),
            ),
            (WriteOp::GeoAdd(member), owned::WriteOp::GeoAdd(owned_member)),
            (WriteOp::Expire(("k", 9)), owned::WriteOp::Expire(("k".into(), 9))),
            (WriteOp::Delete("k"), owned::WriteOp::Delete("k".into())),
            (
                WriteOp::Incr(IncrOp {
                    key: "n",
                    by: -2,
                    ttl_ms: None,
                }),
                owned::WriteOp::Incr(owned::IncrOp {
                    key: "n".into(),
                    by: -2,
                    ttl_ms: None,
                }),
            ),
            (
                WriteOp::Publish(PublishOp {
                    channel: "c",
                    message: "m",
                }),
                owned::WriteOp::Publish(owned::PublishOp {
                    channel: "c".into(),
                    message: "m".into(),
                }),
            ),
        ];
        for (borrowed, owned) in cases {
            assert_eq!(owned_op(&borrowed), owned, "{borrowed:?}");
        }
    }
}
