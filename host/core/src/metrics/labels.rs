//! The label sets of the host's metrics, one struct per shape, so a series
//! is always labelled the same way (the field order is the label order).

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};

/// One pipeline.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PipelineLabels {
    pub pipeline: String,
}

/// One assigned partition of a pipeline.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PartitionLabels {
    pub pipeline: String,
    pub topic: String,
    pub partition: i32,
}

/// Dead letters of one pipeline, by why they failed.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeadLetterLabels {
    pub pipeline: String,
    pub kind: String,
}

/// Failed calls of one plugin version in one pipeline, by kind.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    pub pipeline: String,
    pub plugin: String,
    pub version: String,
    pub kind: String,
}

/// One plugin version.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PluginLabels {
    pub plugin: String,
    pub version: String,
}

/// One plugin version in one pipeline.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BatchLabels {
    pub pipeline: String,
    pub plugin: String,
    pub version: String,
}

/// The host capabilities a plugin calls.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Capability {
    Kv,
    Sql,
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
    pub plugin: String,
    pub version: String,
    pub capability: Capability,
}

/// The quotas a host call can be refused by.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Quota {
    PerBatch,
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
    pub plugin: String,
    pub version: String,
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
