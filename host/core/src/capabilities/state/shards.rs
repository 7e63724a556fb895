//! The state shards of one pipeline that this process holds: one per plugin
//! and partition, shared by the workers of the partition's topics, and gone
//! when the last of them stops (the partition was revoked).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use super::shard::{Shard, store_key};

/// A shard as the workers share it: locked for a call.
pub type SharedShard = Arc<tokio::sync::Mutex<Shard>>;
/// A shard as the registry remembers it.
type HeldShard = Weak<tokio::sync::Mutex<Shard>>;

/// The shards of one pipeline (one consumer group).
pub struct StateShards {
    group_id: String,
    /// By plugin name and partition; weak, so a shard goes with the last
    /// worker that holds it.
    held: Mutex<HashMap<(String, i32), HeldShard>>,
}

impl StateShards {
    /// No shard yet, for the pipeline whose consumer group is `group_id`.
    pub fn new(group_id: &str) -> Self {
        Self {
            group_id: group_id.to_string(),
            held: Mutex::default(),
        }
    }

    /// `plugin`'s shard of `partition`: the one a worker of the partition
    /// holds, or a new one, not yet loaded. The caller keeps it while it owns
    /// the partition.
    pub fn shard(&self, plugin: &str, partition: i32) -> SharedShard {
        let mut held = self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        held.retain(|_, shard| shard.strong_count() > 0);
        let key = (plugin.to_string(), partition);
        if let Some(shard) = held.get(&key).and_then(Weak::upgrade) {
            return shard;
        }
        let shard = Arc::new(tokio::sync::Mutex::new(Shard::default()));
        held.insert(key, Arc::downgrade(&shard));
        shard
    }

    /// Where `plugin`'s shard of `partition` is kept in the store.
    pub fn store_key(&self, plugin: &str, partition: i32) -> String {
        store_key(&self.group_id, plugin, partition)
    }

    /// Number of shards held (for tests and the admin interface).
    pub fn held(&self) -> usize {
        let held = self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        held.values().filter(|shard| shard.strong_count() > 0).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workers_of_a_partition_share_its_shard_until_the_last_lets_go() {
        let shards = StateShards::new("group");
        let fixes_worker = shards.shard("eta", 3);
        let orders_worker = shards.shard("eta", 3);
        assert!(Arc::ptr_eq(&fixes_worker, &orders_worker));
        assert!(!Arc::ptr_eq(&fixes_worker, &shards.shard("eta", 4)));
        assert!(!Arc::ptr_eq(&fixes_worker, &shards.shard("fare", 3)));
        assert_eq!(shards.held(), 1, "shards nobody keeps are not held");
        drop((fixes_worker, orders_worker));
        assert_eq!(shards.held(), 0);
        assert_eq!(shards.store_key("eta", 3), "fleethost:state:group:eta:3");
    }
}
