//! A plugin's config: its component, config map, limits and grants.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One plugin: its component file, its config map, its limits and its grants.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// Path of the `.wasm` component; relative paths are relative to the
    /// config file's folder. `native:<name>` (e.g. `native:live-location`)
    /// runs that plugin compiled into the host instead, without the sandbox:
    /// the benchmark's `fleethost-native` binary only.
    pub path: PathBuf,
    /// String map handed to the plugin's `init`.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// Resource limits of every instance.
    #[serde(default)]
    pub limits: PluginLimits,
    /// What the plugin may touch through the host's capabilities.
    #[serde(default)]
    pub grants: Grants,
}

impl PluginConfig {
    /// The component at `path` with an empty config map, the default limits
    /// and no grants.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            config: BTreeMap::new(),
            limits: PluginLimits::default(),
            grants: Grants::default(),
        }
    }
}

/// Resource limits of one plugin instance.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginLimits {
    /// Maximum linear memory of an instance, in MiB (1 to 4096); growth
    /// beyond it traps.
    #[serde(default = "default_memory_mib")]
    pub memory_mib: u64,
    /// Maximum milliseconds one `process-batch` call may run (enforced by
    /// epoch interruption in 10 ms ticks).
    #[serde(default = "default_batch_timeout_ms")]
    pub batch_timeout_ms: u64,
    /// Maximum milliseconds one capability call may take (kv, sql or
    /// produce: a Redis round trip, a statement, a broker acknowledgement):
    /// the only limit on it, since the Redis client's own timeout is off.
    #[serde(default = "default_host_call_timeout_ms")]
    pub host_call_timeout_ms: u64,
    /// Most host calls (kv, sql, produce together) one instance may make
    /// while processing one batch; the calls beyond are refused with a
    /// `denied` error naming this key, and counted. Absent: no limit.
    #[serde(default)]
    pub host_calls_per_batch: Option<u32>,
    /// Most host calls all instances of the plugin version may make in one
    /// second (fixed one-second windows); the calls beyond are refused with
    /// a `denied` error naming this key, and counted. Absent: no limit.
    #[serde(default)]
    pub host_calls_per_second: Option<u32>,
}

impl Default for PluginLimits {
    fn default() -> Self {
        Self {
            memory_mib: default_memory_mib(),
            batch_timeout_ms: default_batch_timeout_ms(),
            host_call_timeout_ms: default_host_call_timeout_ms(),
            host_calls_per_batch: None,
            host_calls_per_second: None,
        }
    }
}

fn default_memory_mib() -> u64 {
    64
}

fn default_batch_timeout_ms() -> u64 {
    5000
}

fn default_host_call_timeout_ms() -> u64 {
    2000
}

/// What a plugin may touch. Everything not granted is refused.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    /// Key prefixes the plugin may read through `kv` (e.g. `"driver:"`);
    /// write grants imply read.
    #[serde(default)]
    pub kv_read: Vec<String>,
    /// Key prefixes the plugin may write through `kv` (keys only: the
    /// pub/sub channels it may publish on are `publish_channels`).
    #[serde(default)]
    pub kv_write: Vec<String>,
    /// Prefixes of the Redis pub/sub channels the plugin may publish on
    /// through `kv` (e.g. `"live:driver:"`), granted apart from keys so that
    /// no plugin can speak on another's channel: the tracking server passes
    /// what is published there on to customers as is.
    #[serde(default)]
    pub publish_channels: Vec<String>,
    /// Tables the plugin may read through `sql` (exact names, with the schema
    /// when the plugin names one).
    #[serde(default)]
    pub sql_read: Vec<String>,
    /// Tables the plugin may create and write through `sql` (and read).
    #[serde(default)]
    pub sql_write: Vec<String>,
    /// Kafka topics the plugin may publish to through `produce`; the host
    /// creates missing ones at start as `[topics."NAME"]` says (4
    /// partitions without it).
    #[serde(default)]
    pub produce_topics: Vec<String>,
}

/// How a config `path` names a native plugin.
pub const NATIVE_PREFIX: &str = "native:";

/// The name of the native plugin `path` asks for, if it is a `native:` path.
pub fn native_name(path: &Path) -> Option<&str> {
    path.to_str()?.strip_prefix(NATIVE_PREFIX)
}
