//! The TOML configuration file: typed, validated, with errors that name the key
//! and the file.
//!
//! Every field's doc comment doubles as user documentation; the annotated
//! example in `examples/fleethost.toml` shows every key.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Why a config file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the schema (unknown key,
    /// wrong type, missing key); toml's message names the key and the line.
    #[error("invalid config file {path}:\n{message}")]
    Parse { path: PathBuf, message: String },
    /// The file parsed but a value is not acceptable.
    #[error("invalid config file {path}: `{key}`: {message}")]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
}

/// The whole configuration of one fleethost process.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// How to reach Kafka.
    pub kafka: KafkaConfig,
    /// How to reach Redis, the store behind the `kv` capability.
    #[serde(default)]
    pub redis: RedisConfig,
    /// How to reach the database behind the `sql` capability (PostgreSQL, or
    /// an embedded SQLite file).
    #[serde(default)]
    pub database: DatabaseConfig,
    /// How often the host prints its progress line per pipeline.
    #[serde(default)]
    pub status: StatusConfig,
    /// The admin HTTP interface (plugin versions, reload on demand).
    #[serde(default)]
    pub admin: AdminConfig,
    /// How long a shutdown may take.
    #[serde(default)]
    pub shutdown: ShutdownConfig,
    /// The pipelines to run; each is its own consumer group.
    pub pipelines: Vec<PipelineConfig>,
    /// The plugins pipelines may use, by name.
    pub plugins: BTreeMap<String, PluginConfig>,
}

/// Kafka connection settings shared by every pipeline's consumer and the
/// host's producer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Comma-separated `host:port` list of brokers to bootstrap from.
    pub bootstrap_servers: String,
    /// Any librdkafka property, passed through as is (for example
    /// `"session.timeout.ms" = "6000"` or `"security.protocol" = "SSL"`).
    /// Properties the host must control itself are refused (see
    /// `kafka::client_config::HOST_OWNED_PROPERTIES`).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// librdkafka properties for the pipelines' consumers only (e.g.
    /// `"session.timeout.ms"`), applied after `properties`.
    #[serde(default)]
    pub consumer_properties: BTreeMap<String, String>,
    /// librdkafka properties for the host's producer only (e.g. `"linger.ms"`),
    /// applied after `properties`.
    #[serde(default)]
    pub producer_properties: BTreeMap<String, String>,
}

impl KafkaConfig {
    /// Just the bootstrap servers, with no extra properties: what the
    /// simulator, the gateway and the benchmark, which take a broker
    /// address on their command line, hand to the client builders.
    pub fn bootstrap_only(bootstrap_servers: impl Into<String>) -> Self {
        Self {
            bootstrap_servers: bootstrap_servers.into(),
            properties: BTreeMap::new(),
            consumer_properties: BTreeMap::new(),
            producer_properties: BTreeMap::new(),
        }
    }
}

/// Redis connection settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// Redis URL, e.g. `redis://127.0.0.1:6379/0`.
    #[serde(default = "default_redis_url")]
    pub url: String,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: default_redis_url(),
        }
    }
}

fn default_redis_url() -> String {
    "redis://127.0.0.1:6379".to_string()
}

/// Database connection settings for the `sql` capability.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Database URL: PostgreSQL, e.g. `postgres://postgres@127.0.0.1:5432/test`,
    /// or `sqlite://PATH` for an embedded database in one file, created when
    /// missing (a demo without PostgreSQL: one host process only, not for
    /// production). Without it, plugins granted `sql_read`/`sql_write` are
    /// refused at startup.
    #[serde(default)]
    pub url: Option<String>,
    /// Most connections the host opens (shared by every plugin). Default 8.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: default_max_connections(),
        }
    }
}

fn default_max_connections() -> u32 {
    8
}

/// Progress reporting.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusConfig {
    /// Milliseconds between two progress lines (events/s, batches, lag) per
    /// pipeline; 0 turns them off. Default 5000.
    #[serde(default = "default_status_interval_ms")]
    pub interval_ms: u64,
}

impl Default for StatusConfig {
    fn default() -> Self {
        Self {
            interval_ms: default_status_interval_ms(),
        }
    }
}

fn default_status_interval_ms() -> u64 {
    5000
}

/// The admin HTTP interface.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// `host:port` to serve it on, e.g. `"127.0.0.1:9464"`; absent: no admin
    /// interface. It has no authentication: keep it on loopback or a private
    /// network.
    #[serde(default)]
    pub listen: Option<std::net::SocketAddr>,
}

/// The bound of a shutdown.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShutdownConfig {
    /// Milliseconds from the first SIGINT/SIGTERM within which the host must
    /// have stopped consuming, finished its in-flight batches, committed and
    /// closed its consumers. When it has not (a broker that stopped
    /// answering can hold a commit or a consumer's close forever), it logs
    /// and prints which parts did not finish and what each was doing, and
    /// exits with status 124 ([`crate::shutdown::EXIT_TIMED_OUT`]); what it
    /// had not committed is redelivered. Default 30000.
    #[serde(default = "default_shutdown_timeout_ms")]
    pub timeout_ms: u64,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            timeout_ms: default_shutdown_timeout_ms(),
        }
    }
}

fn default_shutdown_timeout_ms() -> u64 {
    crate::shutdown::DEFAULT_TIMEOUT_MS
}

/// One pipeline: a consumer group, its topics, and the plugins each batch goes
/// through.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Name used in logs, metrics and dead-letter headers; unique in the file.
    pub name: String,
    /// Kafka consumer group id. Processes with the same group id split the
    /// partitions between them.
    pub group_id: String,
    /// Topics of location fixes to consume.
    pub topics: Vec<String>,
    /// Topics of order lifecycle events (`order-events`) to consume as well;
    /// their batches reach plugins as `batch.orders`. Default none.
    #[serde(default)]
    pub order_topics: Vec<String>,
    /// Names of the plugins (keys of `[plugins]`) each batch goes through, in order.
    pub plugins: Vec<String>,
    /// When a batch is full.
    #[serde(default)]
    pub batch: BatchConfig,
    /// What happens when a plugin fails a batch.
    #[serde(default)]
    pub failure: FailurePolicy,
    /// Bounds on the event time, speed and heading of the fixes and order
    /// events this pipeline consumes; an event outside them is dead-lettered
    /// like any message that is not a location.
    #[serde(default)]
    pub events: EventsConfig,
    /// Milliseconds between two commits of the offsets of finished batches.
    /// Offsets are also committed when partitions are revoked and at shutdown.
    /// Default 1000.
    #[serde(default = "default_commit_interval_ms")]
    pub commit_interval_ms: u64,
    /// librdkafka properties of this pipeline's consumer only, applied over
    /// `kafka.consumer_properties`: a live-position pipeline can fetch with a
    /// short `fetch.wait.max.ms` while a history pipeline fetches in bulk.
    /// The host-owned keys are refused here too. Default none.
    #[serde(default)]
    pub consumer_properties: BTreeMap<String, String>,
    /// CPU priority of this pipeline's work as a Linux nice value, 0 (as the
    /// rest of the host) to 19: a pipeline that may lag (history, fares)
    /// yields the cores to the others when they are short, so that live
    /// positions stay fresh on a full machine. See
    /// [`crate::pipeline::cpu_priority`]. Default 0.
    #[serde(default)]
    pub nice: u8,
}

fn default_commit_interval_ms() -> u64 {
    1000
}

/// Batch limits: a partition's batch is handed to the plugins when it holds
/// `max_events` events or when `max_wait_ms` has passed since its first event.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchConfig {
    /// Maximum events in one batch. Default 1000.
    #[serde(default = "default_max_events")]
    pub max_events: usize,
    /// Maximum milliseconds a batch waits for more events. Default 1000.
    #[serde(default = "default_max_wait_ms")]
    pub max_wait_ms: u64,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            max_events: default_max_events(),
            max_wait_ms: default_max_wait_ms(),
        }
    }
}

fn default_max_events() -> usize {
    1000
}

fn default_max_wait_ms() -> u64 {
    1000
}

/// Bounds on the values of an input event, beyond the decoder's fixed ranges
/// (coordinates, heading within [0, 360]): a phone with a bad clock or a
/// broken speed sensor must not be taken at its word. An event time far
/// ahead would pin the driver, since live positions are kept newest by event
/// time and every later real fix would then look older. Event times are
/// compared with the Kafka message timestamp (the producer's or the broker's
/// clock), or with the host's clock when the message has none.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsConfig {
    /// Milliseconds an event's `timestamp` may be ahead of its message
    /// timestamp: phones' clocks drift, but not by hours. Further ahead, the
    /// event is dead-lettered as `future-timestamp`. Default 300000 (5 min).
    #[serde(default = "default_max_future_skew_ms")]
    pub max_future_skew_ms: u64,
    /// Milliseconds an event's `timestamp` may be behind its message
    /// timestamp; older events are dead-lettered as `too-old`. 0 means no
    /// limit: a phone that was offline may upload fixes hours late, and they
    /// still belong in the history. Default 0.
    #[serde(default)]
    pub max_age_ms: u64,
    /// Highest `speed` a fix may report, in metres per second; a fix above
    /// it is dead-lettered as `out-of-range`. A negative speed means unknown
    /// (iOS reports -1) and is dropped, the fix kept.
    /// Default 100 (360 km/h: beyond any road vehicle, so only a broken
    /// sensor or a unit mistake gets there).
    #[serde(default = "default_max_speed_mps")]
    pub max_speed_mps: f64,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            max_future_skew_ms: default_max_future_skew_ms(),
            max_age_ms: 0,
            max_speed_mps: default_max_speed_mps(),
        }
    }
}

fn default_max_future_skew_ms() -> u64 {
    300_000
}

fn default_max_speed_mps() -> f64 {
    100.0
}

/// What the pipeline does with a batch a plugin fails (error, trap, timeout).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailurePolicy {
    /// How many times a batch that trapped, timed out, hit its memory cap or
    /// failed with a plugin error marked retryable is tried again (on a fresh
    /// instance after a trap, timeout or memory cap). A plugin error not
    /// marked retryable and an invalid answer are not tried again. Default 3.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Milliseconds before the first retry; doubled for each further one.
    /// Default 200.
    #[serde(default = "default_backoff_ms")]
    pub backoff_ms: u64,
    /// Longest pause between two retries, in ms. A batch whose plugin failed
    /// after the host found a backend it called (Redis, the database, Kafka)
    /// unavailable is retried without limit at this pace: the partition
    /// waits for the backend, nothing is dead-lettered, and the wait shows in
    /// the progress line, `/metrics`, `fleethost status` and a log line a
    /// minute. Default 10000.
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: u64,
    /// After the last retry: `dead-letter` (the events that fail go to
    /// `{topic}.dlq` and the partition moves on) or `stop` (the pipeline stops
    /// without committing the batch). Default `dead-letter`.
    #[serde(default)]
    pub on_exhausted: OnExhausted,
    /// Under `dead-letter`, most plugin calls spent isolating the events that
    /// fail on their own: the failed batch is split in halves, each tried
    /// once (a fresh instance after a trap), and every failing half split
    /// again, so one bad event costs itself and not its neighbours. When the
    /// calls run out, or three rounds of splitting found no part that
    /// passes (the plugin fails everything), the parts still failing are
    /// dead-lettered whole. 0 dead-letters the whole failed batch. Default 64.
    #[serde(default = "default_isolation_calls")]
    pub isolation_calls: u32,
}

impl Default for FailurePolicy {
    fn default() -> Self {
        Self {
            retries: default_retries(),
            backoff_ms: default_backoff_ms(),
            max_backoff_ms: default_max_backoff_ms(),
            on_exhausted: OnExhausted::default(),
            isolation_calls: default_isolation_calls(),
        }
    }
}

fn default_isolation_calls() -> u32 {
    64
}

fn default_retries() -> u32 {
    3
}

fn default_max_backoff_ms() -> u64 {
    10_000
}

fn default_backoff_ms() -> u64 {
    200
}

/// The last step of a failure policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnExhausted {
    /// Send the failed batch to the dead-letter topic and go on.
    #[default]
    DeadLetter,
    /// Stop the pipeline; its uncommitted batches are redelivered on restart.
    Stop,
}

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

impl Config {
    /// Reads, parses and validates the config file at `path`. Relative plugin
    /// paths are resolved against the file's folder.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Self::parse(&text, path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        for plugin in config.plugins.values_mut() {
            let native = crate::runtime::native::native_name(&plugin.path).is_some();
            if plugin.path.is_relative() && !native {
                plugin.path = base.join(&plugin.path);
            }
        }
        Ok(config)
    }

    /// Parses and validates config text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|error| ConfigError::Parse {
            path: path.to_path_buf(),
            message: error.to_string(),
        })?;
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key: String, message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            key,
            message,
        };
        if self.kafka.bootstrap_servers.trim().is_empty() {
            return Err(invalid("kafka.bootstrap_servers".into(), "must not be empty".into()));
        }
        for (field, properties) in [
            ("properties", &self.kafka.properties),
            ("consumer_properties", &self.kafka.consumer_properties),
            ("producer_properties", &self.kafka.producer_properties),
        ] {
            if let Some(owned) = crate::kafka::client_config::host_owned_property(properties) {
                return Err(invalid(
                    format!("kafka.{field}.\"{owned}\""),
                    "is set by fleethost itself and cannot be overridden".into(),
                ));
            }
        }
        if self.shutdown.timeout_ms == 0 {
            return Err(invalid("shutdown.timeout_ms".into(), "must be at least 1".into()));
        }
        if self.database.max_connections == 0 {
            return Err(invalid("database.max_connections".into(), "must be at least 1".into()));
        }
        if self.pipelines.is_empty() {
            return Err(invalid(
                "pipelines".into(),
                "at least one [[pipelines]] entry is required".into(),
            ));
        }
        let mut names = HashSet::new();
        for (index, pipeline) in self.pipelines.iter().enumerate() {
            let key = |field: &str| format!("pipelines[{index}].{field}");
            if pipeline.name.trim().is_empty() {
                return Err(invalid(key("name"), "must not be empty".into()));
            }
            if !names.insert(pipeline.name.as_str()) {
                return Err(invalid(
                    key("name"),
                    format!("pipeline name {:?} is used twice", pipeline.name),
                ));
            }
            if pipeline.group_id.trim().is_empty() {
                return Err(invalid(key("group_id"), "must not be empty".into()));
            }
            if let Some(owned) = crate::kafka::client_config::host_owned_property(&pipeline.consumer_properties) {
                return Err(invalid(
                    key(&format!("consumer_properties.\"{owned}\"")),
                    "is set by fleethost itself and cannot be overridden".into(),
                ));
            }
            if pipeline.topics.is_empty() || pipeline.topics.iter().any(|topic| topic.trim().is_empty()) {
                return Err(invalid(key("topics"), "must list at least one non-empty topic".into()));
            }
            if pipeline.order_topics.iter().any(|topic| topic.trim().is_empty()) {
                return Err(invalid(key("order_topics"), "must not contain an empty topic".into()));
            }
            if let Some(topic) = pipeline
                .order_topics
                .iter()
                .find(|topic| pipeline.topics.contains(topic))
            {
                return Err(invalid(
                    key("order_topics"),
                    format!("topic {topic:?} is also in topics; a topic carries either locations or orders"),
                ));
            }
            if pipeline.plugins.is_empty() {
                return Err(invalid(key("plugins"), "must list at least one plugin".into()));
            }
            for (plugin_index, plugin) in pipeline.plugins.iter().enumerate() {
                if !self.plugins.contains_key(plugin) {
                    let known: Vec<&String> = self.plugins.keys().collect();
                    return Err(invalid(
                        key(&format!("plugins[{plugin_index}]")),
                        format!("no plugin named {plugin:?} in [plugins] (known: {known:?})"),
                    ));
                }
            }
            if pipeline.batch.max_events == 0 || pipeline.batch.max_events > 100_000 {
                return Err(invalid(key("batch.max_events"), "must be between 1 and 100000".into()));
            }
            if pipeline.batch.max_wait_ms == 0 {
                return Err(invalid(key("batch.max_wait_ms"), "must be at least 1".into()));
            }
            if pipeline.commit_interval_ms == 0 {
                return Err(invalid(key("commit_interval_ms"), "must be at least 1".into()));
            }
            if !(pipeline.events.max_speed_mps.is_finite() && pipeline.events.max_speed_mps > 0.0) {
                return Err(invalid(
                    key("events.max_speed_mps"),
                    format!(
                        "must be a positive number of metres per second, not {}",
                        pipeline.events.max_speed_mps
                    ),
                ));
            }
            if pipeline.nice > crate::pipeline::cpu_priority::MAX_NICE {
                return Err(invalid(
                    key("nice"),
                    format!(
                        "must be between 0 and {} (a Linux nice value), not {}",
                        crate::pipeline::cpu_priority::MAX_NICE,
                        pipeline.nice
                    ),
                ));
            }
        }
        for (name, plugin) in &self.plugins {
            let key = |field: &str| format!("plugins.{name}.{field}");
            if plugin.limits.memory_mib == 0 || plugin.limits.memory_mib > 4096 {
                return Err(invalid(key("limits.memory_mib"), "must be between 1 and 4096".into()));
            }
            if plugin.limits.batch_timeout_ms == 0 {
                return Err(invalid(key("limits.batch_timeout_ms"), "must be at least 1".into()));
            }
            if plugin.limits.host_call_timeout_ms == 0 {
                return Err(invalid(key("limits.host_call_timeout_ms"), "must be at least 1".into()));
            }
            for (field, prefixes) in [
                ("grants.kv_read", &plugin.grants.kv_read),
                ("grants.kv_write", &plugin.grants.kv_write),
            ] {
                if prefixes.iter().any(|prefix| prefix.is_empty()) {
                    return Err(invalid(
                        key(field),
                        "an empty prefix would grant every key; list the prefixes explicitly".into(),
                    ));
                }
            }
            for (field, names) in [
                ("grants.sql_read", &plugin.grants.sql_read),
                ("grants.sql_write", &plugin.grants.sql_write),
                ("grants.produce_topics", &plugin.grants.produce_topics),
            ] {
                if let Some(bad) = names.iter().find(|name| name.trim().is_empty() || name.contains('*')) {
                    return Err(invalid(
                        key(field),
                        format!("{bad:?}: list exact names (no empty names, no wildcards)"),
                    ));
                }
            }
            let uses_sql = !plugin.grants.sql_read.is_empty() || !plugin.grants.sql_write.is_empty();
            if uses_sql && self.database.url.is_none() {
                return Err(invalid(
                    key("grants"),
                    "grants sql tables, but there is no database.url to reach a database".into(),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[kafka]
bootstrap_servers = "127.0.0.1:9092"

[[pipelines]]
name = "live"
group_id = "g"
topics = ["rider-updates"]
plugins = ["live-location"]

[plugins.live-location]
path = "live_location.wasm"
"#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/fleethost.toml"))
    }

    #[test]
    fn minimal_config_gets_the_documented_defaults() {
        let config = parse(MINIMAL).unwrap();
        let pipeline = &config.pipelines[0];
        assert_eq!(pipeline.batch.max_events, 1000);
        assert_eq!(pipeline.batch.max_wait_ms, 1000);
        assert_eq!(pipeline.failure.retries, 3);
        assert_eq!(pipeline.failure.on_exhausted, OnExhausted::DeadLetter);
        assert_eq!(pipeline.failure.isolation_calls, 64);
        assert_eq!(config.redis.url, "redis://127.0.0.1:6379");
        assert_eq!(config.plugins["live-location"].limits.memory_mib, 64);
        assert_eq!(config.shutdown.timeout_ms, 30_000);
    }

    #[test]
    fn a_zero_shutdown_timeout_is_refused_naming_the_key() {
        let error = parse(&MINIMAL.replace("[[pipelines]]", "[shutdown]\ntimeout_ms = 0\n\n[[pipelines]]"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("`shutdown.timeout_ms`: must be at least 1"), "{error}");
        let config =
            parse(&MINIMAL.replace("[[pipelines]]", "[shutdown]\ntimeout_ms = 3000\n\n[[pipelines]]")).unwrap();
        assert_eq!(config.shutdown.timeout_ms, 3000);
    }

    #[test]
    fn the_annotated_example_config_is_valid() {
        let example = include_str!("../../../examples/fleethost.toml");
        Config::parse(example, Path::new("examples/fleethost.toml")).unwrap();
    }

    #[test]
    fn unknown_key_is_rejected_naming_key_and_file() {
        let text = MINIMAL.replace("group_id = \"g\"", "group_id = \"g\"\nmax_evnts = 5");
        let error = parse(&text).unwrap_err().to_string();
        assert!(error.contains("/etc/fleethost.toml"), "{error}");
        assert!(error.contains("max_evnts"), "{error}");
    }

    #[test]
    fn unknown_plugin_reference_names_the_key() {
        let text = MINIMAL.replace("plugins = [\"live-location\"]", "plugins = [\"live-locaton\"]");
        let error = parse(&text).unwrap_err().to_string();
        assert!(error.contains("pipelines[0].plugins[0]"), "{error}");
        assert!(error.contains("live-locaton"), "{error}");
    }

    #[test]
    fn host_owned_kafka_property_is_refused() {
        let text = MINIMAL.replace(
            "bootstrap_servers = \"127.0.0.1:9092\"",
            "bootstrap_servers = \"127.0.0.1:9092\"\nproperties = { \"enable.auto.offset.store\" = \"true\" }",
        );
        let error = parse(&text).unwrap_err().to_string();
        assert!(
            error.contains("kafka.properties.\"enable.auto.offset.store\""),
            "{error}"
        );
    }

    #[test]
    fn pipeline_consumer_properties_apply_over_the_shared_ones() {
        let text = MINIMAL
            .replace(
                "bootstrap_servers = \"127.0.0.1:9092\"",
                "bootstrap_servers = \"127.0.0.1:9092\"\nconsumer_properties = { \"fetch.wait.max.ms\" = \"500\", \"fetch.min.bytes\" = \"1000\" }",
            )
            .replace(
                "group_id = \"g\"",
                "group_id = \"g\"\nconsumer_properties = { \"fetch.wait.max.ms\" = \"10\" }",
            );
        let config = parse(&text).unwrap();
        let client = crate::kafka::client_config::consumer(&config.kafka, &config.pipelines[0]);
        assert_eq!(client.get("fetch.wait.max.ms"), Some("10"));
        assert_eq!(client.get("fetch.min.bytes"), Some("1000"));
        assert_eq!(client.get("group.id"), Some("g"));
        assert_eq!(client.get("queued.min.messages"), Some("5000"), "the host's default");
        assert_eq!(client.get("fetch.queue.backoff.ms"), Some("10"), "the host's default");
        assert_eq!(
            client.get("queued.max.messages.kbytes"),
            Some("2048"),
            "the host's default"
        );
    }

    #[test]
    fn host_owned_pipeline_consumer_property_is_refused() {
        let text = MINIMAL.replace(
            "group_id = \"g\"",
            "group_id = \"g\"\nconsumer_properties = { \"group.id\" = \"other\" }",
        );
        let error = parse(&text).unwrap_err().to_string();
        assert!(
            error.contains("pipelines[0].consumer_properties.\"group.id\""),
            "{error}"
        );
        assert!(error.contains("/etc/fleethost.toml"), "{error}");
    }

    #[test]
    fn nice_above_19_is_refused_and_defaults_to_0() {
        let with_nice = |nice: &str| {
            parse(&MINIMAL.replace(
                "plugins = [\"live-location\"]",
                &format!("plugins = [\"live-location\"]\nnice = {nice}"),
            ))
        };
        assert_eq!(parse(MINIMAL).unwrap().pipelines[0].nice, 0);
        assert_eq!(with_nice("10").unwrap().pipelines[0].nice, 10);
        let error = with_nice("20").unwrap_err().to_string();
        assert!(error.contains("pipelines[0].nice"), "{error}");
        assert!(error.contains("between 0 and 19"), "{error}");
        let negative = with_nice("-5").unwrap_err().to_string();
        assert!(negative.contains("nice"), "{negative}");
    }

    #[test]
    fn event_bounds_get_their_defaults_and_can_be_set() {
        let events = &parse(MINIMAL).unwrap().pipelines[0].events;
        assert_eq!(events, &EventsConfig::default());
        assert_eq!(
            (events.max_future_skew_ms, events.max_age_ms, events.max_speed_mps),
            (300_000, 0, 100.0)
        );
        let text = MINIMAL.replace(
            "plugins = [\"live-location\"]",
            "plugins = [\"live-location\"]\nevents = { max_future_skew_ms = 1000, max_age_ms = 60000, max_speed_mps = 40 }",
        );
        let events = &parse(&text).unwrap().pipelines[0].events;
        assert_eq!(
            (events.max_future_skew_ms, events.max_age_ms, events.max_speed_mps),
            (1000, 60_000, 40.0)
        );
    }

    #[test]
    fn unknown_event_bound_is_refused_naming_key_and_file() {
        let text = MINIMAL.replace(
            "plugins = [\"live-location\"]",
            "plugins = [\"live-location\"]\nevents = { max_future_skew_s = 300 }",
        );
        let error = parse(&text).unwrap_err().to_string();
        assert!(error.contains("/etc/fleethost.toml"), "{error}");
        assert!(error.contains("max_future_skew_s"), "{error}");
    }

    #[test]
    fn a_speed_limit_that_is_not_positive_is_refused() {
        for bad in ["0", "-5", "nan", "inf"] {
            let text = MINIMAL.replace(
                "plugins = [\"live-location\"]",
                &format!("plugins = [\"live-location\"]\nevents = {{ max_speed_mps = {bad} }}"),
            );
            let error = parse(&text).unwrap_err().to_string();
            assert!(error.contains("pipelines[0].events.max_speed_mps"), "{bad}: {error}");
            assert!(error.contains("/etc/fleethost.toml"), "{bad}: {error}");
        }
    }

    #[test]
    fn zero_batch_size_is_refused() {
        let text = MINIMAL.replace(
            "plugins = [\"live-location\"]",
            "plugins = [\"live-location\"]\nbatch = { max_events = 0 }",
        );
        let error = parse(&text).unwrap_err().to_string();
        assert!(error.contains("pipelines[0].batch.max_events"), "{error}");
    }

    #[test]
    fn empty_grant_prefix_is_refused() {
        let text = format!("{MINIMAL}grants = {{ kv_write = [\"\"] }}\n");
        let error = parse(&text).unwrap_err().to_string();
        assert!(error.contains("plugins.live-location.grants.kv_write"), "{error}");
    }

    #[test]
    fn relative_plugin_path_is_resolved_against_the_config_folder() {
        let dir = std::env::temp_dir().join(format!("fleethost-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("fleethost.toml");
        std::fs::write(&file, MINIMAL).unwrap();
        let config = Config::load(&file).unwrap();
        assert_eq!(config.plugins["live-location"].path, dir.join("live_location.wasm"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Whether a `native:` path can run is the runtime's question (its
    /// registry); the config keeps it as written, unresolved.
    #[test]
    fn a_native_plugin_path_is_kept_as_written() {
        let text = MINIMAL.replace("live_location.wasm", "native:live-location");
        let dir = std::env::temp_dir().join(format!("fleethost-native-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("fleethost.toml");
        std::fs::write(&file, &text).unwrap();
        let config = Config::load(&file).unwrap();
        assert_eq!(config.plugins["live-location"].path, Path::new("native:live-location"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
