//! A partition's state lent to one `process-batch` call: reads from the
//! shard in memory, changes buffered until the call has succeeded.

use std::collections::BTreeMap;

use tokio::sync::OwnedMutexGuard;

use super::shard::{CLAIM_FIELD, Shard};
use crate::bindings::kv::KvError;
use crate::bindings::state::StateError;
use crate::capabilities::kv::backend::KvBackend;

/// The longest key a plugin may keep, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// The longest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// The most bytes of keys and values one plugin may keep per partition: the
/// host holds them in memory, outside the plugin's own memory cap.
pub const MAX_SHARD_BYTES: usize = 64 * 1024 * 1024;

/// Why a call's changes were not written.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The store could not be reached or failed.
    #[error("the state store: {0}")]
    Store(KvError),
    /// Another load claimed the shard after this process's (`claim`): the
    /// partition has a new owner, and this process no longer holds it.
    #[error(
        "the partition's state was claimed by another consumer after this host's claim {claim}: \
         the partition has a new owner"
    )]
    Superseded { claim: i64 },
}

/// The shard of the batch's partition, locked for the call (the workers of
/// the partition's other topics wait), and the call's changes.
pub struct StateCall {
    shard: OwnedMutexGuard<Shard>,
    changes: BTreeMap<String, Option<String>>,
    /// The shard's bytes with the changes applied.
    bytes: usize,
}

impl StateCall {
    /// Lends `shard` (loaded) to a call.
    pub fn new(shard: OwnedMutexGuard<Shard>) -> Self {
        let bytes = shard.bytes();
        Self {
            shard,
            changes: BTreeMap::new(),
            bytes,
        }
    }

    /// The shard, for what the caller decides before the call (the offsets
    /// it holds).
    pub fn shard(&self) -> &Shard {
        &self.shard
    }

    /// `state.get-many`: the call's own changes, then the shard.
    pub fn get_many(&self, keys: Vec<String>) -> Result<Vec<Option<String>>, StateError> {
        Ok(keys.iter().map(|key| self.value(key).map(str::to_string)).collect())
    }

    /// `state.put-many`: checks every change before taking any, so a refused
    /// call changes nothing.
    pub fn put_many(&mut self, changes: Vec<(String, Option<String>)>) -> Result<(), StateError> {
        let mut bytes = self.bytes;
        let mut pending: BTreeMap<&str, Option<&str>> = BTreeMap::new();
        for (key, value) in &changes {
            check(key, value.as_deref())?;
            let before = match pending.get(key.as_str()) {
                Some(value) => *value,
                None => self.value(key),
            };
            bytes = bytes - before.map_or(0, |value| key.len() + value.len())
                + value.as_ref().map_or(0, |value| key.len() + value.len());
            pending.insert(key, value.as_deref());
        }
        if bytes > MAX_SHARD_BYTES {
            return Err(StateError::Invalid(format!(
                "the partition's state would hold {bytes} bytes of keys and values, more than {MAX_SHARD_BYTES}"
            )));
        }
        self.bytes = bytes;
        for (key, value) in changes {
            self.changes.insert(key, value);
        }
        Ok(())
    }

    /// Whether the call changed anything.
    pub fn is_changed(&self) -> bool {
        !self.changes.is_empty()
    }

    /// Writes the changes, with `applied` (the topic and the last offset of
    /// the batch they come from) when given, to `store` at `key` in one
    /// transaction, then to the shard, while the shard's claim is the last
    /// one made; whether there was anything to write. Otherwise, or when
    /// the store fails, the shard is left as it was.
    pub async fn commit(
        mut self,
        store: &KvBackend,
        key: &str,
        applied: Option<(&str, i64)>,
    ) -> Result<bool, CommitError> {
        if !self.is_changed() {
            return Ok(false);
        }
        let (sets, deletes) = Shard::store_fields(&self.changes, applied);
        let claim = self.shard.claim();
        if !store
            .hash_change_if_claimed(key, CLAIM_FIELD, claim, &sets, &deletes)
            .await
            .map_err(CommitError::Store)?
        {
            return Err(CommitError::Superseded { claim });
        }
        self.shard.apply(std::mem::take(&mut self.changes), self.bytes, applied);
        Ok(true)
    }

    /// Takes the changes into the shard without a store: `fleethost test`,
    /// whose state lives as long as the run.
    pub fn commit_in_memory(mut self) {
        self.shard.apply(std::mem::take(&mut self.changes), self.bytes, None);
    }

    fn value(&self, key: &str) -> Option<&str> {
        match self.changes.get(key) {
            Some(change) => change.as_deref(),
            None => self.shard.get(key),
        }
    }
}

/// Refuses an empty or too long key, or a too long value, naming it.
fn check(key: &str, value: Option<&str>) -> Result<(), StateError> {
    if key.is_empty() {
        return Err(StateError::Invalid("an empty state key".into()));
    }
    if key.len() > MAX_KEY_BYTES {
        let start: String = key.chars().take(40).collect();
        return Err(StateError::Invalid(format!(
            "state key {start:?}… is {} bytes long, more than {MAX_KEY_BYTES}",
            key.len()
        )));
    }
    if let Some(value) = value
        && value.len() > MAX_VALUE_BYTES
    {
        return Err(StateError::Invalid(format!(
            "the value of state key {key:?} is {} bytes long, more than {MAX_VALUE_BYTES}",
            value.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn call() -> StateCall {
        let shard = Arc::new(tokio::sync::Mutex::new(Shard::from_fields("key", Vec::new())));
        StateCall::new(shard.try_lock_owned().expect("unlocked"))
    }

    fn put(call: &mut StateCall, key: &str, value: Option<&str>) -> Result<(), StateError> {
        call.put_many(vec![(key.to_string(), value.map(str::to_string))])
    }

    /// Loads the shard at `key` of `store`, as a host does when it is
    /// assigned the partition.
    async fn loaded(store: &KvBackend, key: &str) -> Arc<tokio::sync::Mutex<Shard>> {
        let shard = Arc::new(tokio::sync::Mutex::new(Shard::default()));
        shard.lock().await.load(store, key).await.expect("load");
        shard
    }

    #[tokio::test]
    async fn only_the_last_claimant_writes_and_a_reload_reads_what_it_wrote() {
        let redis_url = crate::capabilities::kv::test_redis::url();
        for url in ["memory:", redis_url.as_str()] {
            let store = KvBackend::connect_lazy(url).expect("store");
            let key = format!(
                "{}state",
                crate::capabilities::kv::test_redis::unique_prefix("state-claim")
            );
            // A host stalled past its session still holds the partition's
            // shard when the partition's new owner loads it.
            let stale = loaded(&store, &key).await;
            let owner = loaded(&store, &key).await;
            let mut call = StateCall::new(stale.clone().lock_owned().await);
            put(&mut call, "drv-1", Some("stale")).unwrap();
            let refused = call.commit(&store, &key, Some(("fixes", 9))).await;
            assert!(
                matches!(refused, Err(CommitError::Superseded { claim: 1 })),
                "{url}: {refused:?}"
            );
            assert_eq!(
                stale.lock().await.get("drv-1"),
                None,
                "{url}: a refused commit leaves the shard"
            );
            let mut call = StateCall::new(owner.clone().lock_owned().await);
            put(&mut call, "drv-1", Some("owner")).unwrap();
            call.commit(&store, &key, Some(("fixes", 9)))
                .await
                .expect("the claimant writes");

            let reloaded = loaded(&store, &key).await;
            let shard = reloaded.lock().await;
            assert_eq!(shard.get("drv-1"), Some("owner"), "{url}");
            assert_eq!(shard.applied("fixes"), Some(9), "{url}");
            assert_eq!((shard.claim(), shard.len()), (3, 1), "{url}");
            if let KvBackend::Redis(_) = store {
                let mut connection = redis::Client::open(url)
                    .unwrap()
                    .get_multiplexed_async_connection()
                    .await
                    .unwrap();
                let _: () = redis::cmd("DEL").arg(&key).query_async(&mut connection).await.unwrap();
            }
        }
    }

    #[test]
    fn a_call_sees_its_own_changes_and_a_later_change_wins() {
        let mut call = call();
        put(&mut call, "a", Some("1")).unwrap();
        call.put_many(vec![("b".into(), Some("2".into())), ("b".into(), None)])
            .unwrap();
        assert_eq!(
            call.get_many(vec!["a".into(), "b".into(), "c".into()]).unwrap(),
            vec![Some("1".to_string()), None, None]
        );
        call.commit_in_memory();
    }

    #[test]
    fn changes_reach_the_shard_only_when_committed() {
        let shard = Arc::new(tokio::sync::Mutex::new(Shard::from_fields("key", Vec::new())));
        let mut call = StateCall::new(shard.clone().try_lock_owned().unwrap());
        put(&mut call, "a", Some("1")).unwrap();
        drop(call);
        assert_eq!(
            shard.try_lock().unwrap().get("a"),
            None,
            "a dropped call's changes are gone"
        );
        let mut call = StateCall::new(shard.clone().try_lock_owned().unwrap());
        put(&mut call, "a", Some("1")).unwrap();
        call.commit_in_memory();
        assert_eq!(shard.try_lock().unwrap().get("a"), Some("1"));
        assert_eq!(shard.try_lock().unwrap().bytes(), 2);
    }

    #[test]
    fn bad_keys_and_values_are_refused_naming_them_and_nothing_is_taken() {
        let mut call = call();
        let error = call
            .put_many(vec![("ok".into(), Some("1".into())), (String::new(), Some("x".into()))])
            .unwrap_err();
        assert!(
            matches!(&error, StateError::Invalid(message) if message.contains("empty")),
            "{error:?}"
        );
        assert_eq!(call.get_many(vec!["ok".into()]).unwrap(), vec![None]);
        let long_value = "v".repeat(MAX_VALUE_BYTES + 1);
        let error = put(&mut call, "drv-7", Some(&long_value)).unwrap_err();
        assert!(
            matches!(&error, StateError::Invalid(message) if message.contains("drv-7")),
            "{error:?}"
        );
        let long_key = "k".repeat(MAX_KEY_BYTES + 1);
        assert!(put(&mut call, &long_key, None).is_err());
    }

    #[test]
    fn the_partition_bound_counts_what_the_call_replaces_and_deletes() {
        let mut call = call();
        let value = "v".repeat(MAX_VALUE_BYTES);
        let keys = MAX_SHARD_BYTES / (MAX_VALUE_BYTES + 8);
        for index in 0..keys {
            put(&mut call, &format!("key-{index:03}"), Some(&value)).unwrap();
        }
        // Replacing a value does not count it twice.
        put(&mut call, "key-000", Some(&value)).unwrap();
        let error = put(&mut call, "one-too-many", Some(&value)).unwrap_err();
        assert!(
            matches!(&error, StateError::Invalid(message) if message.contains("more than")),
            "{error:?}"
        );
        put(&mut call, "key-000", None).unwrap();
        put(&mut call, "one-too-many", Some(&value)).unwrap();
    }
}
