//! Which store is behind the `kv` capability: Redis, or the embedded
//! in-process store (`kv/memory.rs`), chosen by `redis.url`'s scheme.

use crate::bindings::kv::{FieldValue, KvError, WriteOp, WriteResult};
use crate::capabilities::kv::memory::MemoryKv;
use crate::capabilities::kv::redis::RedisKv;
use crate::capabilities::kv::write_once::WriteScope;

/// The `redis.url` that selects the embedded store.
pub const MEMORY_URL: &str = "memory:";

/// The store shared by every plugin instance of the process.
#[derive(Clone)]
pub enum KvBackend {
    /// A Redis server (`redis://`, `rediss://`, `unix://`).
    Redis(RedisKv),
    /// The in-process store (`memory:`): one process only, nothing kept.
    Memory(MemoryKv),
}

impl KvBackend {
    /// The store `url` names: [`MEMORY_URL`] for a new embedded store,
    /// anything else a Redis URL, connected lazily (the host starts while
    /// Redis is down).
    pub fn connect_lazy(url: &str) -> Result<Self, redis::RedisError> {
        Self::connect_lazy_trusting(url, None)
    }

    /// [`KvBackend::connect_lazy`], a `rediss://` server's certificate
    /// checked against the CA certificates in `ca_file` (the system's trust
    /// store without it).
    pub fn connect_lazy_trusting(url: &str, ca_file: Option<&std::path::Path>) -> Result<Self, redis::RedisError> {
        if is_memory_url(url) {
            return Ok(Self::Memory(MemoryKv::new()));
        }
        Ok(Self::Redis(RedisKv::connect_lazy_trusting(url, ca_file)?))
    }

    /// The store as `pipeline`'s instances use it: Redis over the pipeline's
    /// own connection (see [`RedisKv::for_pipeline`]); the embedded store is
    /// in-process and shared as it is.
    pub fn for_pipeline(&self, pipeline: &str) -> Result<Self, redis::RedisError> {
        Ok(match self {
            Self::Redis(redis) => Self::Redis(redis.for_pipeline(pipeline)?),
            Self::Memory(memory) => Self::Memory(memory.clone()),
        })
    }

    /// Applies `ops` in order, in one round trip; with a `scope`, its
    /// increments and publications once however often the same write is
    /// sent (Redis; the embedded store cannot lose an answer).
    pub async fn write(&self, ops: &[WriteOp], scope: Option<&WriteScope>) -> Result<Vec<WriteResult>, KvError> {
        match self {
            Self::Redis(redis) => redis.write(ops, scope).await,
            Self::Memory(memory) => memory.write(ops),
        }
    }

    /// The string at each key; `None` where absent.
    pub async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, KvError> {
        match self {
            Self::Redis(redis) => redis.get_many(keys).await,
            Self::Memory(memory) => memory.get_many(keys),
        }
    }

    /// Every field of each hash; empty where absent.
    pub async fn hash_get_all_many(&self, keys: &[String]) -> Result<Vec<Vec<FieldValue>>, KvError> {
        match self {
            Self::Redis(redis) => redis.hash_get_all_many(keys).await,
            Self::Memory(memory) => memory.hash_get_all_many(keys),
        }
    }

    /// Adds one to the number in `field` of the hash at `key` and reads the
    /// whole hash, at once: how a host claims a partition's state when it
    /// loads it.
    pub async fn hash_claim(&self, key: &str, field: &str) -> Result<(i64, Vec<FieldValue>), KvError> {
        match self {
            Self::Redis(redis) => redis.hash_claim(key, field).await,
            Self::Memory(memory) => memory.hash_claim(key, field),
        }
    }

    /// Deletes `deletes` and sets `sets` in the hash at `key`, all or
    /// nothing, only while its `field` holds `claim`; whether it did: how the
    /// state a plugin changed in a batch is written, by its claimant only.
    pub async fn hash_change_if_claimed(
        &self,
        key: &str,
        field: &str,
        claim: i64,
        sets: &[(String, String)],
        deletes: &[String],
    ) -> Result<bool, KvError> {
        match self {
            Self::Redis(redis) => redis.hash_change_if_claimed(key, field, claim, sets, deletes).await,
            Self::Memory(memory) => memory.hash_change_if_claimed(key, field, claim, sets, deletes),
        }
    }
}

/// True for `memory:` (and `memory://`, with anything after it).
pub fn is_memory_url(url: &str) -> bool {
    url.trim().starts_with(MEMORY_URL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_chooses_the_store() {
        assert!(matches!(KvBackend::connect_lazy("memory:"), Ok(KvBackend::Memory(_))));
        assert!(matches!(
            KvBackend::connect_lazy("memory://demo"),
            Ok(KvBackend::Memory(_))
        ));
        let tokio = tokio::runtime::Runtime::new().expect("runtime");
        let _guard = tokio.enter();
        assert!(matches!(
            KvBackend::connect_lazy("redis://127.0.0.1:1"),
            Ok(KvBackend::Redis(_))
        ));
        assert!(KvBackend::connect_lazy("http://127.0.0.1:6379").is_err());
    }
}
