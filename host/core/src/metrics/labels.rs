//! The label sets of the host's metrics, one struct per shape, so a series
//! is always labelled the same way (the field order is the label order).

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};

/// One pipeline.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PipelineLabels {
    /// The pipeline's name.
    pub pipeline: String,
}

/// One assigned partition of a pipeline.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PartitionLabels {
    /// The pipeline's name.
    pub pipeline: String,
    /// The partition: topic and number.
    pub topic: String,
    pub partition: i32,
}

/// Dead letters of one pipeline, by why they failed.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeadLetterLabels {
    /// The pipeline's name.
    pub pipeline: String,
    /// The failure's kind (`trap`, `not-json`, `rejected`, ...).
    pub kind: String,
}

/// Failed calls of one plugin version in one pipeline, by kind.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    /// The pipeline's name.
    pub pipeline: String,
    /// The plugin's name and version.
    pub plugin: String,
    pub version: String,
    /// The failure's kind (`trap`, `not-json`, `rejected`, ...).
    pub kind: String,
}

/// One plugin version.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PluginLabels {
    /// The plugin's name and version.
    pub plugin: String,
    pub version: String,
}

/// One plugin's state in one pipeline (the state outlives versions).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    /// The pipeline's name.
    pub pipeline: String,
    /// The plugin's name.
    pub plugin: String,
}

/// One plugin version in one pipeline.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BatchLabels {
    /// The pipeline's name.
    pub pipeline: String,
    /// The plugin's name and version.
    pub plugin: String,
    pub version: String,
}

/// The host capabilities a plugin calls.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Capability {
    /// `kv`: Redis or the embedded store.
    Kv,
    /// `sql`: the database.
    Sql,
    /// `produce`: Kafka.
    Produce,
}

impl Capability {
    /// The capability's name, as the WIT interface is called.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kv => "kv",
            Self::Sql => "sql",
            Self::Produce => "produce",
        }
    }
}

impl EncodeLabelValue for Capability {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        self.as_str().encode(encoder)
    }
}

/// One capability of one plugin version.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HostCallLabels {
    /// The plugin's name and version.
    pub plugin: String,
    pub version: String,
    /// The capability called.
    pub capability: Capability,
}

/// The quotas a host call can be refused by.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Quota {
    /// `limits.host_calls_per_batch`.
    PerBatch,
    /// `limits.host_calls_per_second`.
    PerSecond,
}

impl Quota {
    /// The quota's name, as the config key ends (`limits.host_calls_per_…`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PerBatch => "per_batch",
            Self::PerSecond => "per_second",
        }
    }
}

impl EncodeLabelValue for Quota {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        self.as_str().encode(encoder)
    }
}

/// One quota of one plugin version.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QuotaLabels {
    /// The plugin's name and version.
    pub plugin: String,
    pub version: String,
    /// The quota that refused the call.
    pub quota: Quota,
}

impl PluginLabels {
    /// The labels of `plugin` at `version`.
    pub fn new(plugin: &str, version: &str) -> Self {
        Self {
            plugin: plugin.to_string(),
            version: version.to_string(),
        }
    }
}
