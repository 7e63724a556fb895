//! One plugin's state of one partition, as this process holds it, and how
//! it is laid out in the store: one hash per shard, a field per key, a
//! field per topic with the last offset whose changes it holds, and the
//! claim: a number each load adds one to, so that only the host that
//! loaded the shard last can write it (a host that lost the partition
//! without noticing, stalled past its session, cannot overwrite what the
//! partition's new owner wrote).

use std::collections::{BTreeMap, HashMap};

use prometheus_client::metrics::gauge::Gauge;

use crate::bindings::kv::{FieldValue, KvError};
use crate::capabilities::kv::backend::KvBackend;

/// Store field of a plugin's key `k`: `k:` and the key, apart from the
/// offsets' fields.
const VALUE_FIELD: &str = "k:";
/// Store field of the last offset of topic `t` whose changes the shard
/// holds: `applied:` and the topic.
const APPLIED_FIELD: &str = "applied:";
/// Store field of the claim.
pub(super) const CLAIM_FIELD: &str = "claim";

/// The store key (a Redis hash) of `plugin`'s state of `partition` in the
/// consumer group `group_id`: shared by the group's hosts, so the host that
/// is assigned the partition next finds it, and by the group's topics of
/// that partition number (a pipeline's fixes and order topics are keyed
/// alike).
pub fn store_key(group_id: &str, plugin: &str, partition: i32) -> String {
    format!("fleethost:state:{group_id}:{plugin}:{partition}")
}

/// A shard: its keys' values, and per topic the last offset applied.
#[derive(Debug, Default)]
pub struct Shard {
    values: HashMap<String, String>,
    applied: HashMap<String, i64>,
    /// Bytes of keys and values held, for [`super::MAX_SHARD_BYTES`].
    bytes: usize,
    loaded: bool,
    /// The claim this process made when it loaded the shard.
    claim: i64,
    /// Where the shard's bytes are counted while this process holds it
    /// (`fleethost_state_bytes`).
    gauge: Option<Gauge>,
}

impl Shard {
    /// Claims and reads the shard from `store` at `key` unless it has been
    /// read: one transaction. A field neither a key's, nor an offset, nor
    /// the claim is ignored, with a warning naming it.
    pub async fn load(&mut self, store: &KvBackend, key: &str) -> Result<(), KvError> {
        if self.loaded {
            return Ok(());
        }
        let (claim, fields) = store.hash_claim(key, CLAIM_FIELD).await?;
        *self = Self::from_fields(key, fields);
        self.claim = claim;
        Ok(())
    }

    /// Counts the shard's bytes into `gauge` while this process holds it.
    pub fn count_into(&mut self, gauge: Gauge) {
        if let Some(old) = self.gauge.replace(gauge) {
            old.dec_by(self.bytes as i64);
        }
        if let Some(gauge) = &self.gauge {
            gauge.inc_by(self.bytes as i64);
        }
    }

    /// An empty shard that no store holds: `fleethost test`'s.
    pub fn empty() -> Self {
        let mut shard = Self::default();
        shard.loaded = true;
        shard
    }

    /// A shard read from its store fields (an empty one when there are none).
    pub fn from_fields(key: &str, fields: Vec<FieldValue>) -> Self {
        let mut shard = Self::empty();
        for FieldValue { field, value } in fields {
            if let Some(name) = field.strip_prefix(VALUE_FIELD) {
                shard.bytes += name.len() + value.len();
                shard.values.insert(name.to_string(), value);
            } else if let Some(topic) = field.strip_prefix(APPLIED_FIELD)
                && let Ok(offset) = value.parse()
            {
                shard.applied.insert(topic.to_string(), offset);
            } else if field == CLAIM_FIELD {
                // The claim is the number the load's increment returned.
            } else {
                tracing::warn!(key, field, "state field that is neither a key nor an offset; ignored");
            }
        }
        shard
    }

    /// Whether the shard has been read from the store (or made in memory).
    pub fn is_loaded(&self) -> bool {
        self.loaded
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// The last offset of `topic` whose changes the shard holds.
    pub fn applied(&self, topic: &str) -> Option<i64> {
        self.applied.get(topic).copied()
    }

    /// The claim this process holds the shard by.
    pub fn claim(&self) -> i64 {
        self.claim
    }

    /// Bytes of keys and values held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The store fields `changes` and `applied` set and delete, in the
    /// layout [`Shard::from_fields`] reads.
    pub(super) fn store_fields(
        changes: &BTreeMap<String, Option<String>>,
        applied: Option<(&str, i64)>,
    ) -> (Vec<(String, String)>, Vec<String>) {
        let mut sets = Vec::new();
        let mut deletes = Vec::new();
        for (key, value) in changes {
            let field = format!("{VALUE_FIELD}{key}");
            match value {
                Some(value) => sets.push((field, value.clone())),
                None => deletes.push(field),
            }
        }
        if let Some((topic, offset)) = applied {
            sets.push((format!("{APPLIED_FIELD}{topic}"), offset.to_string()));
        }
        (sets, deletes)
    }

    /// Takes `changes` and `applied` in, once they are in the store.
    pub(super) fn apply(
        &mut self,
        changes: BTreeMap<String, Option<String>>,
        bytes: usize,
        applied: Option<(&str, i64)>,
    ) {
        for (key, value) in changes {
            match value {
                Some(value) => self.values.insert(key, value),
                None => self.values.remove(&key),
            };
        }
        if let Some(gauge) = &self.gauge {
            gauge.inc_by(bytes as i64 - self.bytes as i64);
        }
        self.bytes = bytes;
        self.loaded = true;
        if let Some((topic, offset)) = applied {
            self.applied.insert(topic.to_string(), offset);
        }
    }
}

impl Drop for Shard {
    /// The partition was revoked (or the process stops): its bytes are no
    /// longer held.
    fn drop(&mut self) {
        if let Some(gauge) = &self.gauge {
            gauge.dec_by(self.bytes as i64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(field: &str, value: &str) -> FieldValue {
        FieldValue {
            field: field.into(),
            value: value.into(),
        }
    }

    #[test]
    fn fields_written_are_read_back_the_same() {
        let changes = BTreeMap::from([
            ("drv-1".to_string(), Some("a=1".to_string())),
            ("drv-2".to_string(), None),
        ]);
        let (sets, deletes) = Shard::store_fields(&changes, Some(("fixes", 41)));
        assert_eq!(deletes, vec!["k:drv-2".to_string()]);
        let fields = sets.iter().map(|(name, value)| field(name, value)).collect();
        let shard = Shard::from_fields("key", fields);
        assert_eq!(shard.get("drv-1"), Some("a=1"));
        assert_eq!(shard.get("drv-2"), None);
        assert_eq!(shard.applied("fixes"), Some(41));
        assert_eq!(shard.applied("orders"), None);
        assert_eq!(shard.bytes(), "drv-1".len() + "a=1".len());
    }

    #[test]
    fn a_key_named_like_an_offset_field_stays_a_key() {
        let shard = Shard::from_fields(
            "key",
            vec![field("k:applied:fixes", "x"), field("applied:fixes", "not a number")],
        );
        assert_eq!(shard.get("applied:fixes"), Some("x"));
        assert_eq!(shard.applied("fixes"), None);
        assert_eq!(shard.len(), 1);
    }
}
