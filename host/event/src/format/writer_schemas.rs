//! The writer schemas of a Confluent-framed topic by id: those the config
//! names (`writer_schemas`), those learnt from its registry as messages name
//! them, and the ids the registry did not give, with why and when, so that
//! a registry that is down is not asked again for every batch.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::Schema;

/// How long an id the registry did not give is not asked for again: its
/// messages meanwhile are dead-lettered at once, not held up by a registry
/// that is down.
pub const RETRY_UNKNOWN_AFTER: Duration = Duration::from_secs(60);

/// Writer schemas by id, shared by the workers reading the topic.
#[derive(Debug, Default)]
pub(super) struct WriterSchemas {
    by_id: RwLock<HashMap<u32, Arc<Schema>>>,
    /// Why an id could not be learnt, and when.
    unknown: RwLock<HashMap<u32, (String, Instant)>>,
}

impl WriterSchemas {
    /// The schemas the config names.
    pub(super) fn configured(by_id: HashMap<u32, Arc<Schema>>) -> Self {
        Self {
            by_id: RwLock::new(by_id),
            unknown: RwLock::default(),
        }
    }

    /// The schema of `id`, if known.
    pub(super) fn get(&self, id: u32) -> Option<Arc<Schema>> {
        read(&self.by_id).get(&id).cloned()
    }

    /// Adds the schema of `id` learnt from the registry.
    pub(super) fn learnt(&self, id: u32, schema: Arc<Schema>) {
        write(&self.by_id).insert(id, schema);
        write(&self.unknown).remove(&id);
    }

    /// Keeps why the registry could not give the schema of `id`.
    pub(super) fn not_learnt(&self, id: u32, reason: String) {
        write(&self.unknown).insert(id, (reason, Instant::now()));
    }

    /// Whether learning `id` failed within [`RETRY_UNKNOWN_AFTER`].
    pub(super) fn recently_failed(&self, id: u32) -> bool {
        read(&self.unknown)
            .get(&id)
            .is_some_and(|(_, at)| at.elapsed() < RETRY_UNKNOWN_AFTER)
    }

    /// Why learning `id` failed, if it did.
    pub(super) fn failure(&self, id: u32) -> Option<String> {
        read(&self.unknown).get(&id).map(|(reason, _)| reason.clone())
    }
}

/// A lock's value for reading; a writer that panicked left whole entries.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A lock's value for writing.
fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|poisoned| poisoned.into_inner())
}
