//! A plugin's config: its component, config map, limits and grants.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// One plugin: its component file, its config map, its limits and its grants.
#[derive(Debug, Clone, PartialEq, Deserialize)]
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

/// Resource limits of one plugin instance.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginLimits {
    /// Maximum linear memory of an instance, in MiB. Default 64.
    #[serde(default = "default_memory_mib")]
    pub memory_mib: u64,
    /// Maximum milliseconds one `process-batch` call may run. Default 5000.
    #[serde(default = "default_batch_timeout_ms")]
    pub batch_timeout_ms: u64,
    /// Maximum milliseconds one capability call (a Redis round trip) may take:
    /// the only limit on it (the Redis client's own timeout is off). Default
    /// 2000.
    #[serde(default = "default_host_call_timeout_ms")]
    pub host_call_timeout_ms: u64,
}

impl Default for PluginLimits {
    fn default() -> Self {
        Self {
            memory_mib: default_memory_mib(),
            batch_timeout_ms: default_batch_timeout_ms(),
            host_call_timeout_ms: default_host_call_timeout_ms(),
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
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    /// Key prefixes the plugin may read through `kv` (e.g. `"driver:"`).
    #[serde(default)]
    pub kv_read: Vec<String>,
    /// Key prefixes the plugin may write through `kv` (pub/sub channels
    /// it may publish on count as keys).
    #[serde(default)]
    pub kv_write: Vec<String>,
    /// Tables the plugin may read through `sql` (exact names, with the schema
    /// when the plugin names one).
    #[serde(default)]
    pub sql_read: Vec<String>,
    /// Tables the plugin may create and write through `sql` (and read).
    #[serde(default)]
    pub sql_write: Vec<String>,
    /// Kafka topics the plugin may publish to through `produce`.
    #[serde(default)]
    pub produce_topics: Vec<String>,
}
