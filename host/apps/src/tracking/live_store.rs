//! Where the tracking server reads what the plugins wrote (drivers'
//! hashes, the geo set, the ETAs): Redis, or the host's embedded store when
//! the server runs in the same process as the pipelines (`fleethost demo`
//! without Redis). The readers ([`super::snapshot`], [`super::map_snapshot`])
//! ask for these few reads and do not care which store answers.

use std::collections::HashMap;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use fleethost_core::capabilities::kv::memory::MemoryKv;

/// Keys asked per `SCAN` step.
const SCAN_COUNT: usize = 1_000;

/// What the tracking server is pointed at.
#[derive(Clone, Debug)]
pub enum LiveSource {
    /// A Redis server.
    Redis(RedisAt),
    /// The embedded store of this process.
    Memory(MemoryKv),
}

/// Where a Redis is and, for `rediss://`, which CA its certificate is
/// checked against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisAt {
    /// Its URL.
    pub url: String,
    /// PEM file of the CA that signed its certificate; `None`: the
    /// system's trust store.
    pub ca_file: Option<std::path::PathBuf>,
}

impl RedisAt {
    /// The Redis at `url`, trusting the system's roots for TLS.
    pub fn url(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ca_file: None,
        }
    }

    /// A client of it (connected on first use).
    pub fn client(&self) -> redis::RedisResult<redis::Client> {
        fleethost_core::capabilities::kv::redis::client_trusting(&self.url, self.ca_file.as_deref())
    }
}

/// A store the server reads; clones share the connection.
#[derive(Clone)]
pub enum LiveStore {
    /// A Redis connection that connects on first use and reconnects on its
    /// own, each connect and answer bounded by its timeout: the server keeps
    /// serving live messages while Redis is down.
    Redis(ConnectionManager),
    /// The embedded store; it never fails.
    Memory(MemoryKv),
}

impl LiveStore {
    /// The store `source` names: the embedded one itself, or a lazy Redis
    /// connection whose every request is bounded by `timeout`.
    pub fn connect_lazy(source: &LiveSource, timeout: Duration) -> redis::RedisResult<Self> {
        match source {
            LiveSource::Redis(redis) => Self::redis(&redis.client()?, timeout),
            LiveSource::Memory(memory) => Ok(Self::Memory(memory.clone())),
        }
    }

    /// A lazy Redis connection, each request bounded by `timeout`.
    fn redis(client: &redis::Client, timeout: Duration) -> redis::RedisResult<Self> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1);
        Ok(Self::Redis(client.get_connection_manager_lazy(config)?))
    }

    /// Every field of each hash (empty where absent), in one round trip.
    pub async fn hashes(&self, keys: &[String]) -> redis::RedisResult<Vec<HashMap<String, String>>> {
        match self {
            Self::Redis(connection) => {
                if keys.is_empty() {
                    return Ok(Vec::new());
                }
                let mut pipeline = redis::pipe();
                for key in keys {
                    pipeline.cmd("HGETALL").arg(key);
                }
                pipeline.query_async(&mut connection.clone()).await
            }
            Self::Memory(memory) => Ok(keys.iter().map(|key| memory.hash(key)).collect()),
        }
    }

    /// At most `limit` members of the geo set at `key`.
    pub async fn geo_members(&self, key: &str, limit: usize) -> redis::RedisResult<Vec<String>> {
        match self {
            Self::Redis(connection) => {
                redis::cmd("ZRANGE")
                    .arg(key)
                    .arg(0)
                    .arg(limit.saturating_sub(1))
                    .query_async(&mut connection.clone())
                    .await
            }
            Self::Memory(memory) => Ok(memory.geo_members(key, limit)),
        }
    }

    /// At most `limit` keys that start with `prefix` but not with `except`
    /// (Redis: `SCAN MATCH prefix*`, so never a blocking `KEYS`).
    pub async fn keys_with_prefix(&self, prefix: &str, except: &str, limit: usize) -> redis::RedisResult<Vec<String>> {
        match self {
            Self::Redis(connection) => {
                let mut connection = connection.clone();
                let pattern = format!("{}*", glob_escape(prefix));
                let mut keys = Vec::new();
                let mut cursor: u64 = 0;
                loop {
                    let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(SCAN_COUNT)
                        .query_async(&mut connection)
                        .await?;
                    keys.extend(batch.into_iter().filter(|key| !key.starts_with(except)));
                    if next == 0 || keys.len() >= limit {
                        keys.truncate(limit);
                        return Ok(keys);
                    }
                    cursor = next;
                }
            }
            Self::Memory(memory) => {
                // Ask for enough to fill `limit` after the exclusion.
                let mut keys = memory.keys_with_prefix(prefix, usize::MAX);
                keys.retain(|key| !key.starts_with(except));
                keys.truncate(limit);
                Ok(keys)
            }
        }
    }
}

/// `text` with Redis glob characters escaped, for a `SCAN MATCH` pattern.
fn glob_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(character, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleethost_core::bindings::kv::{FieldValue, HashSetOp, WriteOp};

    #[test]
    fn glob_characters_are_escaped() {
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }

    #[tokio::test]
    async fn the_embedded_store_answers_the_same_reads() {
        let memory = MemoryKv::new();
        let hash = |key: &str| {
            WriteOp::HashSet(HashSetOp {
                key: key.into(),
                fields: vec![FieldValue {
                    field: "eta_s".into(),
                    value: "60".into(),
                }],
            })
        };
        memory
            .write(&[hash("eta:o1"), hash("eta:o2"), hash("eta:trip:d1")])
            .expect("writes");
        let store = LiveStore::Memory(memory);
        let mut keys = store.keys_with_prefix("eta:", "eta:trip:", 10).await.expect("scan");
        keys.sort();
        assert_eq!(keys, ["eta:o1", "eta:o2"]);
        assert_eq!(
            store
                .keys_with_prefix("eta:", "eta:trip:", 1)
                .await
                .expect("scan")
                .len(),
            1
        );
        let hashes = store.hashes(&["eta:o1".into(), "absent".into()]).await.expect("read");
        assert_eq!(hashes[0]["eta_s"], "60");
        assert!(hashes[1].is_empty());
    }
}
