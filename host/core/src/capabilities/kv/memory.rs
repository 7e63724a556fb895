//! The embedded backend of the `kv` capability: an in-process store with
//! the Redis semantics the plugins rely on (strings, hashes, geo sets, TTLs,
//! counters, "newest version wins" upserts and pub/sub), for a host that
//! runs without Redis (`redis.url = "memory:"`, or `fleethost demo` when no
//! Redis answers).
//!
//! What it is not: shared between processes, or kept across a restart. A
//! second fleethost in the same consumer group cannot see it, so it is for
//! one process (the demo, a laptop), never for production. The tracking
//! server reads it directly ([`MemoryKv::hash`], [`MemoryKv::geo_members`],
//! [`MemoryKv::keys_with_prefix`]) and follows its publications
//! ([`MemoryKv::subscribe`]) when it runs in the same process.
//!
//! Each call takes one lock and applies its operations in order, so a call
//! is atomic here (Redis applies a pipeline in order, not atomically; the
//! plugins never relied on more than the order). Expired keys are dropped
//! when read and, at most once a second, swept by a write.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use crate::bindings::kv::{FieldValue, KvError, WriteOp, WriteResult};
use crate::capabilities::kv::redis::check_geo;

/// Publications buffered for a subscriber that falls behind, before it
/// starts missing some (as a slow Redis pub/sub client would be cut off).
pub const PUBLISH_BUFFER: usize = 65_536;

/// How often a write sweeps the expired keys out.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// A message published on a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub channel: Arc<str>,
    pub message: Arc<str>,
}

/// The store; clones share it.
#[derive(Clone)]
pub struct MemoryKv {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for MemoryKv {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("MemoryKv").field("keys", &self.len()).finish()
    }
}

struct Inner {
    store: Mutex<Store>,
    published: broadcast::Sender<Published>,
}

#[derive(Default)]
struct Store {
    entries: HashMap<String, Entry>,
    last_sweep: Option<Instant>,
}

struct Entry {
    value: Stored,
    expires_at: Option<Instant>,
}

enum Stored {
    Text(String),
    Hash(HashMap<String, String>),
    /// Member → (longitude, latitude), ordered by member.
    Geo(BTreeMap<String, (f64, f64)>),
}

impl Stored {
    fn type_name(&self) -> &'static str {
        match self {
            Stored::Text(_) => "a string",
            Stored::Hash(_) => "a hash",
            Stored::Geo(_) => "a geo set",
        }
    }
}

impl Default for MemoryKv {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryKv {
    /// An empty store.
    pub fn new() -> Self {
        let (published, _) = broadcast::channel(PUBLISH_BUFFER);
        Self {
            inner: Arc::new(Inner {
                store: Mutex::new(Store::default()),
                published,
            }),
        }
    }

    /// Applies `ops` in order; one result per op, as Redis would answer.
    /// A write to a key holding another type is refused (`invalid`, naming
    /// the key), leaving the ops before it applied, like Redis's WRONGTYPE.
    pub fn write(&self, ops: &[WriteOp]) -> Result<Vec<WriteResult>, KvError> {
        let now = Instant::now();
        let mut store = self.lock();
        store.sweep_if_due(now);
        let mut results = Vec::with_capacity(ops.len());
        for op in ops {
            results.push(match op {
                WriteOp::Set(set) => {
                    let expires_at = set.ttl_ms.map(|ttl| now + Duration::from_millis(ttl.max(1)));
                    store.entries.insert(
                        set.key.clone(),
                        Entry {
                            value: Stored::Text(set.value.clone()),
                            expires_at,
                        },
                    );
                    WriteResult::Done
                }
                WriteOp::HashSet(hash) => {
                    if hash.fields.is_empty() {
                        return Err(KvError::Invalid(format!("hash-set of {:?} without fields", hash.key)));
                    }
                    let fields = store.hash_mut(&hash.key, now)?;
                    for field in &hash.fields {
                        fields.insert(field.field.clone(), field.value.clone());
                    }
                    WriteResult::Done
                }
                WriteOp::UpsertNewer(upsert) => {
                    if let Some(geo) = &upsert.geo {
                        check_geo(geo)?;
                    }
                    let fields = store.hash_mut(&upsert.key, now)?;
                    let current = fields
                        .get(&upsert.version_field)
                        .and_then(|version| version.trim().parse::<f64>().ok());
                    if current.is_some_and(|current| current >= upsert.version as f64) {
                        WriteResult::Applied(false)
                    } else {
                        fields.insert(upsert.version_field.clone(), upsert.version.to_string());
                        for field in &upsert.fields {
                            fields.insert(field.field.clone(), field.value.clone());
                        }
                        if let Some(geo) = &upsert.geo {
                            store
                                .geo_mut(&geo.key, now)?
                                .insert(geo.member.clone(), (geo.longitude, geo.latitude));
                        }
                        WriteResult::Applied(true)
                    }
                }
                WriteOp::GeoAdd(geo) => {
                    check_geo(geo)?;
                    store
                        .geo_mut(&geo.key, now)?
                        .insert(geo.member.clone(), (geo.longitude, geo.latitude));
                    WriteResult::Done
                }
                WriteOp::Expire((key, ttl_ms)) => {
                    if let Some(entry) = store.live_mut(key, now) {
                        entry.expires_at = Some(now + Duration::from_millis(*ttl_ms));
                    }
                    WriteResult::Done
                }
                WriteOp::Delete(key) => {
                    store.entries.remove(key);
                    WriteResult::Done
                }
                WriteOp::Incr(incr) => {
                    let counter = store.increment(&incr.key, incr.by, now)?;
                    if let Some(ttl) = incr.ttl_ms
                        && let Some(entry) = store.live_mut(&incr.key, now)
                    {
                        entry.expires_at = Some(now + Duration::from_millis(ttl.max(1)));
                    }
                    WriteResult::Counter(counter)
                }
                WriteOp::Publish(publish) => {
                    // No subscriber is not an error: pub/sub keeps nothing.
                    let _ = self.inner.published.send(Published {
                        channel: publish.channel.as_str().into(),
                        message: publish.message.as_str().into(),
                    });
                    WriteResult::Done
                }
            });
        }
        Ok(results)
    }

    /// The string at each key; `None` where absent.
    pub fn get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, KvError> {
        let now = Instant::now();
        let mut store = self.lock();
        keys.iter()
            .map(|key| match store.live_mut(key, now) {
                None => Ok(None),
                Some(Entry {
                    value: Stored::Text(text),
                    ..
                }) => Ok(Some(text.clone())),
                Some(entry) => Err(wrong_type(key, entry, "a string")),
            })
            .collect()
    }

    /// Every field of each hash; empty where absent.
    pub fn hash_get_all_many(&self, keys: &[String]) -> Result<Vec<Vec<FieldValue>>, KvError> {
        let now = Instant::now();
        let mut store = self.lock();
        keys.iter()
            .map(|key| match store.live_mut(key, now) {
                None => Ok(Vec::new()),
                Some(Entry {
                    value: Stored::Hash(fields),
                    ..
                }) => Ok(fields
                    .iter()
                    .map(|(field, value)| FieldValue {
                        field: field.clone(),
                        value: value.clone(),
                    })
                    .collect()),
                Some(entry) => Err(wrong_type(key, entry, "a hash")),
            })
            .collect()
    }

    /// Adds one to the number in `field` of the hash at `key` and reads the
    /// whole hash, at once (see [`super::redis::RedisKv::hash_claim`]).
    pub fn hash_claim(&self, key: &str, field: &str) -> Result<(i64, Vec<FieldValue>), KvError> {
        let mut store = self.lock();
        let fields = store.hash_mut(key, Instant::now())?;
        let claim = fields
            .get(field)
            .and_then(|value| value.parse::<i64>().ok())
            .unwrap_or(0)
            + 1;
        fields.insert(field.to_string(), claim.to_string());
        let all = fields
            .iter()
            .map(|(field, value)| FieldValue {
                field: field.clone(),
                value: value.clone(),
            })
            .collect();
        Ok((claim, all))
    }

    /// Deletes `deletes` and sets `sets` in the hash at `key` while its
    /// `field` holds `claim`; whether it did (see
    /// [`super::redis::RedisKv::hash_change_if_claimed`]).
    pub fn hash_change_if_claimed(
        &self,
        key: &str,
        field: &str,
        claim: i64,
        sets: &[(String, String)],
        deletes: &[String],
    ) -> Result<bool, KvError> {
        let mut store = self.lock();
        let fields = store.hash_mut(key, Instant::now())?;
        if fields.get(field).map(String::as_str) != Some(claim.to_string().as_str()) {
            return Ok(false);
        }
        for field in deletes {
            fields.remove(field);
        }
        for (field, value) in sets {
            fields.insert(field.clone(), value.clone());
        }
        Ok(true)
    }

    /// The hash at `key` as a map; empty when absent or not a hash.
    pub fn hash(&self, key: &str) -> HashMap<String, String> {
        match self.lock().live_mut(key, Instant::now()) {
            Some(Entry {
                value: Stored::Hash(fields),
                ..
            }) => fields.clone(),
            _ => HashMap::new(),
        }
    }

    /// At most `limit` members of the geo set at `key`, by member name.
    pub fn geo_members(&self, key: &str, limit: usize) -> Vec<String> {
        match self.lock().live_mut(key, Instant::now()) {
            Some(Entry {
                value: Stored::Geo(members),
                ..
            }) => members.keys().take(limit).cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// At most `limit` live keys starting with `prefix`, in no particular
    /// order (like a Redis `SCAN MATCH prefix*`).
    pub fn keys_with_prefix(&self, prefix: &str, limit: usize) -> Vec<String> {
        let now = Instant::now();
        self.lock()
            .entries
            .iter()
            .filter(|(key, entry)| key.starts_with(prefix) && !entry.expired(now))
            .map(|(key, _)| key.clone())
            .take(limit)
            .collect()
    }

    /// Every message published from now on, on every channel; a receiver
    /// more than [`PUBLISH_BUFFER`] messages behind misses the oldest.
    pub fn subscribe(&self) -> broadcast::Receiver<Published> {
        self.inner.published.subscribe()
    }

    /// Live keys (expired ones not yet swept excluded).
    pub fn len(&self) -> usize {
        let now = Instant::now();
        self.lock().entries.values().filter(|entry| !entry.expired(now)).count()
    }

    /// True when no key is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock leaves whole entries behind (every
        // mutation is one insert), so the data is still consistent.
        self.inner.store.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Entry {
    fn expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

impl Store {
    /// The entry at `key` unless it has expired (then it is dropped).
    fn live_mut(&mut self, key: &str, now: Instant) -> Option<&mut Entry> {
        if self.entries.get(key).is_some_and(|entry| entry.expired(now)) {
            self.entries.remove(key);
        }
        self.entries.get_mut(key)
    }

    /// The hash at `key`, created empty when absent.
    fn hash_mut(&mut self, key: &str, now: Instant) -> Result<&mut HashMap<String, String>, KvError> {
        self.live_or_insert(key, now, || Stored::Hash(HashMap::new()));
        match self.entries.get_mut(key) {
            Some(Entry {
                value: Stored::Hash(fields),
                ..
            }) => Ok(fields),
            Some(entry) => Err(wrong_type(key, entry, "a hash")),
            None => unreachable!("inserted above"),
        }
    }

    /// The geo set at `key`, created empty when absent.
    fn geo_mut(&mut self, key: &str, now: Instant) -> Result<&mut BTreeMap<String, (f64, f64)>, KvError> {
        self.live_or_insert(key, now, || Stored::Geo(BTreeMap::new()));
        match self.entries.get_mut(key) {
            Some(Entry {
                value: Stored::Geo(members),
                ..
            }) => Ok(members),
            Some(entry) => Err(wrong_type(key, entry, "a geo set")),
            None => unreachable!("inserted above"),
        }
    }

    /// Adds `by` to the integer at `key` (0 when absent): the new value.
    fn increment(&mut self, key: &str, by: i64, now: Instant) -> Result<i64, KvError> {
        self.live_or_insert(key, now, || Stored::Text("0".to_string()));
        let Some(entry) = self.entries.get_mut(key) else {
            unreachable!("inserted above")
        };
        let Stored::Text(text) = &mut entry.value else {
            return Err(wrong_type(key, entry, "a string"));
        };
        let current: i64 = text
            .trim()
            .parse()
            .map_err(|_| KvError::Invalid(format!("incr of {key:?}: its value {text:?} is not an integer")))?;
        let next = current
            .checked_add(by)
            .ok_or_else(|| KvError::Invalid(format!("incr of {key:?} by {by} overflows")))?;
        *text = next.to_string();
        Ok(next)
    }

    fn live_or_insert(&mut self, key: &str, now: Instant, empty: impl FnOnce() -> Stored) {
        if self.live_mut(key, now).is_none() {
            self.entries.insert(
                key.to_string(),
                Entry {
                    value: empty(),
                    expires_at: None,
                },
            );
        }
    }

    /// Drops every expired key, at most once per [`SWEEP_INTERVAL`], so keys
    /// nobody reads again (a finished trip's state) do not pile up.
    fn sweep_if_due(&mut self, now: Instant) {
        if self
            .last_sweep
            .is_some_and(|last| now.duration_since(last) < SWEEP_INTERVAL)
        {
            return;
        }
        self.last_sweep = Some(now);
        self.entries.retain(|_, entry| !entry.expired(now));
    }
}

fn wrong_type(key: &str, entry: &Entry, wanted: &str) -> KvError {
    KvError::Invalid(format!(
        "{key:?} holds {}, not {wanted} (WRONGTYPE)",
        entry.value.type_name()
    ))
}

#[cfg(test)]
mod tests;
