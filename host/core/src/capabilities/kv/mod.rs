//! The `kv` capability as plugins see it: grant checks, a timeout per call,
//! then the backend. Guest calls are synchronous; they run on a blocking thread
//! and wait for the async backend there.

pub mod backend;
pub mod memory;
pub mod redis;
#[cfg(test)]
pub(crate) mod test_redis;
pub mod write_once;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::bindings::kv::{FieldValue, KvError, WriteOp, WriteResult};
use crate::capabilities::grants::KvGrants;
use crate::capabilities::kv::backend::KvBackend;
use crate::capabilities::kv::write_once::WriteScope;
use crate::capabilities::shadow::Shadow;
use crate::metrics::labels::Capability;
use crate::metrics::usage::CallMeter;

/// Most operations or keys one kv call may carry.
pub const MAX_KEYS_PER_CALL: usize = 100_000;

/// One instance's view of the kv store.
pub struct KvCapability {
    grants: Arc<KvGrants>,
    backend: KvBackend,
    timeout: Duration,
    runtime: tokio::runtime::Handle,
    meter: Arc<CallMeter>,
    /// Where the writes go instead, in a replay.
    shadow: Option<Arc<Shadow>>,
    /// The batch being processed, once the runtime said which: the scope of
    /// the next write, whose `call` counts the writes so far.
    scope: Mutex<Option<WriteScope>>,
}

impl KvCapability {
    /// A capability limited by `grants`, each call bounded by `timeout`;
    /// calls, refusals and quotas are counted in `meter`. Must be created
    /// inside the tokio runtime whose handle it keeps.
    pub fn new(
        grants: Arc<KvGrants>,
        backend: KvBackend,
        timeout: Duration,
        meter: Arc<CallMeter>,
        shadow: Option<Arc<Shadow>>,
    ) -> Self {
        Self {
            grants,
            backend,
            timeout,
            runtime: tokio::runtime::Handle::current(),
            meter,
            shadow,
            scope: Mutex::new(None),
        }
    }

    /// Starts a batch: the writes until the next one are its writes, in
    /// order, under `guard_key` (see [`write_once`]). Called before every
    /// plugin call, so that a retry of a batch sends the same writes again.
    pub fn begin_batch(&self, guard_key: String, batch: String) {
        *self.scope.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(WriteScope {
            guard_key,
            batch,
            call: 0,
        });
    }

    /// The scope of the next write: the batch's, with its call counted.
    fn next_scope(&self) -> Option<WriteScope> {
        let mut scope = self.scope.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        scope.as_mut().map(|scope| {
            scope.call += 1;
            scope.clone()
        })
    }

    /// Counts and logs a refused key, then passes the refusal on.
    fn refused(&self, error: KvError) -> KvError {
        self.meter.denied();
        tracing::warn!(?error, "kv call refused");
        error
    }

    /// Checks every key of `ops` against the write grants and every channel
    /// against the publish grants, then applies them in one round trip.
    pub fn write(&self, ops: Vec<WriteOp>) -> Result<Vec<WriteResult>, KvError> {
        let mut call = self.meter.admit(Capability::Kv).map_err(KvError::Denied)?;
        call.sent(ops.iter().map(write_op_bytes).sum());
        check_count(ops.len())?;
        for op in &ops {
            if let WriteOp::Publish(publish) = op {
                self.grants
                    .check_publish(&publish.channel)
                    .map_err(|error| self.refused(error))?;
            }
            for key in write_keys(op) {
                self.grants.check_write(key).map_err(|error| self.refused(error))?;
            }
        }
        let scope = self.next_scope();
        let Some(shadow) = &self.shadow else {
            let results = self.block_on(self.backend.write(&ops, scope.as_ref()))?;
            call.received(8 * results.len() as u64);
            return Ok(results);
        };
        let results = self.block_on(self.backend.write(&shadow.kv_ops(&ops), scope.as_ref()))?;
        shadow.record_kv(&ops, &results);
        call.received(8 * results.len() as u64);
        Ok(results)
    }

    /// Reads many string keys in one round trip.
    pub fn get_many(&self, keys: Vec<String>) -> Result<Vec<Option<String>>, KvError> {
        let mut call = self.meter.admit(Capability::Kv).map_err(KvError::Denied)?;
        call.sent(keys.iter().map(|key| key.len() as u64).sum());
        check_count(keys.len())?;
        for key in &keys {
            self.grants.check_read(key).map_err(|error| self.refused(error))?;
        }
        let keys = self.in_shadow(keys);
        let values = self.block_on(self.backend.get_many(&keys))?;
        call.received(values.iter().flatten().map(|value| value.len() as u64).sum());
        Ok(values)
    }

    /// Reads many hashes in one round trip.
    pub fn hash_get_all_many(&self, keys: Vec<String>) -> Result<Vec<Vec<FieldValue>>, KvError> {
        let mut call = self.meter.admit(Capability::Kv).map_err(KvError::Denied)?;
        call.sent(keys.iter().map(|key| key.len() as u64).sum());
        check_count(keys.len())?;
        for key in &keys {
            self.grants.check_read(key).map_err(|error| self.refused(error))?;
        }
        let keys = self.in_shadow(keys);
        let hashes = self.block_on(self.backend.hash_get_all_many(&keys))?;
        call.received(hashes.iter().flatten().map(field_bytes).sum());
        Ok(hashes)
    }

    /// `keys` where this instance reads them: in its shadow, in a replay.
    fn in_shadow(&self, keys: Vec<String>) -> Vec<String> {
        match &self.shadow {
            Some(shadow) => keys.iter().map(|key| shadow.key(key)).collect(),
            None => keys,
        }
    }

    /// Runs a backend call under the timeout; an unavailable backend is
    /// noted for the host ([`crate::capabilities::outage`]).
    fn block_on<T>(&self, call: impl Future<Output = Result<T, KvError>>) -> Result<T, KvError> {
        let timeout = self.timeout;
        let result = self.runtime.block_on(async move {
            tokio::time::timeout(timeout, call).await.unwrap_or_else(|_| {
                Err(KvError::Unavailable(format!(
                    "kv call timed out after {} ms",
                    timeout.as_millis()
                )))
            })
        });
        if let Err(KvError::Unavailable(reason)) = &result {
            crate::capabilities::outage::note("kv", reason);
        }
        result
    }
}

/// Bytes of one field and its value.
fn field_bytes(field: &FieldValue) -> u64 {
    (field.field.len() + field.value.len()) as u64
}

/// Bytes a write operation hands over: its keys, fields, values and
/// channels, 8 per number.
fn write_op_bytes(op: &WriteOp) -> u64 {
    let fields = |fields: &[FieldValue]| fields.iter().map(field_bytes).sum::<u64>();
    let geo = |member: &crate::bindings::kv::GeoMember| (member.key.len() + member.member.len() + 16) as u64;
    match op {
        WriteOp::Set(set) => (set.key.len() + set.value.len() + 8) as u64,
        WriteOp::HashSet(hash) => hash.key.len() as u64 + fields(&hash.fields),
        WriteOp::UpsertNewer(upsert) => {
            (upsert.key.len() + upsert.version_field.len() + 8) as u64
                + fields(&upsert.fields)
                + upsert.geo.as_ref().map_or(0, geo)
        }
        WriteOp::GeoAdd(member) => geo(member),
        WriteOp::Expire((key, _)) => key.len() as u64 + 8,
        WriteOp::Delete(key) => key.len() as u64,
        WriteOp::Incr(incr) => incr.key.len() as u64 + 16,
        WriteOp::Publish(publish) => (publish.channel.len() + publish.message.len()) as u64,
    }
}

fn check_count(count: usize) -> Result<(), KvError> {
    if count > MAX_KEYS_PER_CALL {
        return Err(KvError::Invalid(format!(
            "{count} operations in one call; the limit is {MAX_KEYS_PER_CALL}"
        )));
    }
    Ok(())
}

/// Every key a write operation touches (none for a publication, whose
/// channel is not a key; one, or two for an upsert with a geo member); no
/// allocation, it runs for every operation of every call.
fn write_keys(op: &WriteOp) -> impl Iterator<Item = &str> {
    let (key, second) = match op {
        WriteOp::Set(set) => (Some(set.key.as_str()), None),
        WriteOp::HashSet(hash) => (Some(hash.key.as_str()), None),
        WriteOp::UpsertNewer(upsert) => (
            Some(upsert.key.as_str()),
            upsert.geo.as_ref().map(|geo| geo.key.as_str()),
        ),
        WriteOp::GeoAdd(member) => (Some(member.key.as_str()), None),
        WriteOp::Expire((key, _)) => (Some(key.as_str()), None),
        WriteOp::Delete(key) => (Some(key.as_str()), None),
        WriteOp::Incr(incr) => (Some(incr.key.as_str()), None),
        WriteOp::Publish(_) => (None, None),
    };
    key.into_iter().chain(second)
}
