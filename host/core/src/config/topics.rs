//! `[topics."NAME"]`: how each topic the host reads or writes is laid out
//! and kept on the brokers (partitions, replication, retention and cleanup)
//! and how its messages are encoded (`format`: JSON, Avro or Protobuf).
//! The host creates the dead-letter and output topics it writes to with
//! these settings, and `fleethost topics` shows and creates them all.

use std::collections::BTreeMap;

use fleethost_event::format::FormatConfig;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The settings of one topic; an absent key takes the host's default for
/// the topic's role (partitions) or the broker's (everything else).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicSettings {
    /// Partitions of the topic when it is created (at least 1). Without it:
    /// 1 for a dead-letter topic, 4 for a plugin output topic, and for a
    /// consumed topic the broker's default. An existing topic keeps its
    /// count: adding partitions moves keys, and with them a driver's
    /// ordering, so `fleethost topics` reports a difference and changes
    /// nothing.
    #[serde(default)]
    pub partitions: Option<i32>,
    /// Copies of each partition (at least 1); without it the broker's
    /// default (`default.replication.factor`).
    #[serde(default)]
    pub replication_factor: Option<i32>,
    /// How long records are kept, in milliseconds (`retention.ms`); -1
    /// keeps them forever.
    #[serde(default)]
    pub retention_ms: Option<i64>,
    /// Most bytes kept per partition (`retention.bytes`); -1 for no limit.
    #[serde(default)]
    pub retention_bytes: Option<i64>,
    /// `delete` (old records go after the retention), `compact` (the newest
    /// record of each key stays) or `compact,delete` (`cleanup.policy`).
    #[serde(default)]
    pub cleanup_policy: Option<CleanupPolicy>,
    /// Any other topic-level config of the broker, by its Kafka name (e.g.
    /// `"min.insync.replicas" = "2"`); the keys above are set by their own
    /// fields.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// How the topic's messages are encoded: without it, JSON. The host
    /// decodes a consumed topic's fixes or order events in this format,
    /// and the gateway, the simulator and `fleethost tail` write and read
    /// it.
    #[serde(default)]
    pub format: Option<FormatConfig>,
}

/// What the broker does with records past their retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum CleanupPolicy {
    /// Old records are deleted.
    #[serde(rename = "delete")]
    Delete,
    /// Only the newest record of each key is kept.
    #[serde(rename = "compact")]
    Compact,
    /// Compacted, and deleted after the retention.
    #[serde(rename = "compact,delete")]
    CompactDelete,
}

impl CleanupPolicy {
    /// The value of `cleanup.policy`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delete => "delete",
            Self::Compact => "compact",
            Self::CompactDelete => "compact,delete",
        }
    }
}

/// The topic-level configs the fields of [`TopicSettings`] stand for.
const NAMED_PROPERTIES: [&str; 3] = ["retention.ms", "retention.bytes", "cleanup.policy"];

impl TopicSettings {
    /// The broker configs these settings ask for, by Kafka name.
    pub fn broker_configs(&self) -> BTreeMap<String, String> {
        let mut configs = self.properties.clone();
        if let Some(retention) = self.retention_ms {
            configs.insert("retention.ms".into(), retention.to_string());
        }
        if let Some(bytes) = self.retention_bytes {
            configs.insert("retention.bytes".into(), bytes.to_string());
        }
        if let Some(policy) = self.cleanup_policy {
            configs.insert("cleanup.policy".into(), policy.as_str().into());
        }
        configs
    }

    /// What is wrong with these settings, as (field, message).
    pub(super) fn problem(&self) -> Option<(String, String)> {
        if let Some(partitions) = self.partitions
            && partitions < 1
        {
            return Some(("partitions".into(), format!("must be at least 1, not {partitions}")));
        }
        if let Some(factor) = self.replication_factor
            && factor < 1
        {
            return Some(("replication_factor".into(), format!("must be at least 1, not {factor}")));
        }
        for (field, value) in [
            ("retention_ms", self.retention_ms),
            ("retention_bytes", self.retention_bytes),
        ] {
            if let Some(value) = value
                && value < -1
            {
                return Some((field.into(), format!("must be -1 (no limit) or more, not {value}")));
            }
        }
        if let Some(named) = self
            .properties
            .keys()
            .find(|key| NAMED_PROPERTIES.contains(&key.as_str()))
        {
            return Some((
                format!("properties.\"{named}\""),
                format!("is set by its own key ({})", named.replace('.', "_")),
            ));
        }
        None
    }
}

/// Makes the schema files of `format` relative to `base` (the config
/// file's folder) absolute, as plugin paths are.
pub(super) fn resolve_schema_paths(format: &mut FormatConfig, base: &std::path::Path) {
    if let Some(schema) = &mut format.schema {
        *schema = base.join(&*schema);
    }
    for path in format.writer_schemas.values_mut() {
        *path = base.join(&*path);
    }
}
