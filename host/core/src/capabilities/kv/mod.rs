//! The `kv` capability as plugins see it: grant checks, a timeout per call,
//! then the backend. Guest calls are synchronous; they run on a blocking thread
//! and wait for the async backend there.

pub mod backend;
pub mod memory;
pub mod redis;
#[cfg(test)]
mod test_redis;
pub mod write_once;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::bindings::kv::{FieldValue, KvError, WriteOp, WriteResult};
use crate::capabilities::grants::KvGrants;
use crate::capabilities::kv::backend::KvBackend;
use crate::capabilities::kv::write_once::WriteScope;

/// Most operations or keys one kv call may carry.
pub const MAX_KEYS_PER_CALL: usize = 100_000;

/// One instance's view of the kv store.
pub struct KvCapability {
    grants: Arc<KvGrants>,
    backend: KvBackend,
    timeout: Duration,
    runtime: tokio::runtime::Handle,
    denials: Arc<AtomicU64>,
    /// The batch being processed, once the runtime said which: the scope of
    /// the next write, whose `call` counts the writes so far.
    scope: Mutex<Option<WriteScope>>,
}

impl KvCapability {
    /// A capability limited by `grants`, each call bounded by `timeout`;
    /// refusals are counted in `denials`. Must be created inside the tokio
    /// runtime whose handle it keeps.
    pub fn new(grants: Arc<KvGrants>, backend: KvBackend, timeout: Duration, denials: Arc<AtomicU64>) -> Self {
        Self {
            grants,
            backend,
            timeout,
            runtime: tokio::runtime::Handle::current(),
            denials,
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
        self.denials.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(?error, "kv call refused");
        error
    }

    /// Checks every key of `ops` against the write grants and every channel
    /// against the publish grants, then applies them in one round trip.
    pub fn write(&self, ops: Vec<WriteOp>) -> Result<Vec<WriteResult>, KvError> {
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
        self.block_on(self.backend.write(&ops, scope.as_ref()))
    }

    /// Reads many string keys in one round trip.
    pub fn get_many(&self, keys: Vec<String>) -> Result<Vec<Option<String>>, KvError> {
        check_count(keys.len())?;
        for key in &keys {
            self.grants.check_read(key).map_err(|error| self.refused(error))?;
        }
        self.block_on(self.backend.get_many(&keys))
    }

    /// Reads many hashes in one round trip.
    pub fn hash_get_all_many(&self, keys: Vec<String>) -> Result<Vec<Vec<FieldValue>>, KvError> {
        check_count(keys.len())?;
        for key in &keys {
            self.grants.check_read(key).map_err(|error| self.refused(error))?;
        }
        self.block_on(self.backend.hash_get_all_many(&keys))
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
