//! Plugins built against `fleethost:plugin@0.1.0` call the same capabilities
//! as current ones: their `log` and `kv` calls are converted to the current
//! types here and served by the same code, grants and backends (and taped
//! and replayed as the current calls).

use super::host_state::HostState;
use crate::bindings::v0_1::fleethost::plugin::{kv as old_kv, log as old_log, types as old_types};
use crate::bindings::{kv, log};

impl old_types::Host for HostState {}

impl old_log::Host for HostState {
    fn log(&mut self, level: old_log::Level, message: String) {
        let level = match level {
            old_log::Level::Trace => log::Level::Trace,
            old_log::Level::Debug => log::Level::Debug,
            old_log::Level::Info => log::Level::Info,
            old_log::Level::Warn => log::Level::Warn,
            old_log::Level::Error => log::Level::Error,
        };
        log::Host::log(self, level, message);
    }
}

impl old_kv::Host for HostState {
    fn write(&mut self, ops: Vec<old_kv::WriteOp>) -> Result<Vec<old_kv::WriteResult>, old_kv::KvError> {
        let ops = ops.into_iter().map(write_op).collect();
        let results = kv::Host::write(self, ops).map_err(kv_error)?;
        Ok(results
            .into_iter()
            .map(|result| match result {
                kv::WriteResult::Applied(applied) => old_kv::WriteResult::Applied(applied),
                // 0.1.0 has no counters; it cannot have asked for one.
                kv::WriteResult::Done | kv::WriteResult::Counter(_) => old_kv::WriteResult::Done,
            })
            .collect())
    }

    fn get_many(&mut self, keys: Vec<String>) -> Result<Vec<Option<String>>, old_kv::KvError> {
        kv::Host::get_many(self, keys).map_err(kv_error)
    }

    fn hash_get_all_many(&mut self, keys: Vec<String>) -> Result<Vec<Vec<old_kv::FieldValue>>, old_kv::KvError> {
        let hashes = kv::Host::hash_get_all_many(self, keys).map_err(kv_error)?;
        Ok(hashes
            .into_iter()
            .map(|hash| {
                hash.into_iter()
                    .map(|pair| old_kv::FieldValue {
                        field: pair.field,
                        value: pair.value,
                    })
                    .collect()
            })
            .collect())
    }
}

fn fields(fields: Vec<old_kv::FieldValue>) -> Vec<kv::FieldValue> {
    fields
        .into_iter()
        .map(|pair| kv::FieldValue {
            field: pair.field,
            value: pair.value,
        })
        .collect()
}

fn geo_member(member: old_kv::GeoMember) -> kv::GeoMember {
    kv::GeoMember {
        key: member.key,
        member: member.member,
        longitude: member.longitude,
        latitude: member.latitude,
    }
}

fn write_op(op: old_kv::WriteOp) -> kv::WriteOp {
    match op {
        old_kv::WriteOp::Set(set) => kv::WriteOp::Set(kv::SetOp {
            key: set.key,
            value: set.value,
            ttl_ms: set.ttl_ms,
        }),
        old_kv::WriteOp::HashSet(hash) => kv::WriteOp::HashSet(kv::HashSetOp {
            key: hash.key,
            fields: fields(hash.fields),
        }),
        old_kv::WriteOp::UpsertNewer(upsert) => kv::WriteOp::UpsertNewer(kv::UpsertNewerOp {
            key: upsert.key,
            version_field: upsert.version_field,
            version: upsert.version,
            fields: fields(upsert.fields),
            geo: upsert.geo.map(geo_member),
        }),
        old_kv::WriteOp::GeoAdd(member) => kv::WriteOp::GeoAdd(geo_member(member)),
        old_kv::WriteOp::Expire(expire) => kv::WriteOp::Expire(expire),
        old_kv::WriteOp::Delete(key) => kv::WriteOp::Delete(key),
    }
}

fn kv_error(error: kv::KvError) -> old_kv::KvError {
    match error {
        kv::KvError::Denied(message) => old_kv::KvError::Denied(message),
        kv::KvError::Invalid(message) => old_kv::KvError::Invalid(message),
        kv::KvError::Unavailable(message) => old_kv::KvError::Unavailable(message),
    }
}
