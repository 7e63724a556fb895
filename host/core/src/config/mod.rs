//! The TOML configuration file: typed, validated, with errors that name the key
//! and the file.
//!
//! Every field's doc comment doubles as user documentation; the annotated
//! example in `examples/fleethost.toml` shows every key.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod kafka_security;
mod pipeline;
mod plugin;
pub mod reference;
mod services;
mod topics;

pub use fleethost_event::EventsConfig;
pub use fleethost_event::format::{Encoding, FormatConfig, Framing, PayloadFormat};
pub use kafka_security::{KafkaSasl, KafkaTls, SaslMechanism};
pub use pipeline::{BatchConfig, Coalesce, FailurePolicy, OnExhausted, PipelineConfig};
pub use plugin::{Grants, NATIVE_PREFIX, PluginConfig, PluginLimits, native_name};
pub use services::{
    AdminConfig, DatabaseConfig, KafkaConfig, RedisConfig, ShutdownConfig, StatusConfig, host_owned_property,
};
pub use topics::{CleanupPolicy, TopicSettings};

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

/// The config file at `path` as a TOML table, for the readers of one
/// section (`[kafka]`, a topic's `format`) that leave the rest unchecked.
fn read_table(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|error| ConfigError::Parse {
        path: path.to_path_buf(),
        message: error.to_string(),
    })
}

/// The `[kafka]` section's librdkafka property maps, each with the key the
/// config names it by.
fn kafka_property_maps(kafka: &KafkaConfig) -> [(String, &BTreeMap<String, String>); 3] {
    [
        ("kafka.properties".to_string(), &kafka.properties),
        ("kafka.consumer_properties".to_string(), &kafka.consumer_properties),
        ("kafka.producer_properties".to_string(), &kafka.producer_properties),
    ]
}

/// The whole configuration of one fleethost process.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
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
    /// Partitions, replication, retention and cleanup of the topics the
    /// host reads and writes, by topic name (consumed topics, their
    /// `.dlq` topics, the plugins' output topics); a topic not listed
    /// takes the defaults.
    #[serde(default)]
    pub topics: BTreeMap<String, TopicSettings>,
}

impl Config {
    /// A config with the brokers at `bootstrap_servers` and every other
    /// section at its defaults, no pipelines and no plugins yet: where a
    /// program that writes configs (the tests, the benchmark) starts before
    /// it adds its pipelines and plugins and serialises the result with
    /// `toml::to_string`.
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        Self {
            kafka: KafkaConfig::bootstrap_only(bootstrap_servers),
            redis: RedisConfig::default(),
            database: DatabaseConfig::default(),
            status: StatusConfig::default(),
            admin: AdminConfig::default(),
            shutdown: ShutdownConfig::default(),
            pipelines: Vec::new(),
            plugins: BTreeMap::new(),
            topics: BTreeMap::new(),
        }
    }

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
            let native = plugin::native_name(&plugin.path).is_some();
            if plugin.path.is_relative() && !native {
                plugin.path = base.join(&plugin.path);
            }
        }
        for (topic, settings) in &mut config.topics {
            if let Some(format) = &mut settings.format {
                topics::resolve_schema_paths(format, base);
                // The paths are the config file's folder's already.
                PayloadFormat::load(format, Path::new("")).map_err(|(key, message)| ConfigError::Invalid {
                    path: path.to_path_buf(),
                    key: format!("topics.\"{topic}\".format.{key}"),
                    message,
                })?;
            }
        }
        Ok(config)
    }

    /// The payload format of `topic`, its schemas compiled: JSON for a
    /// topic without `[topics."NAME".format]`. The config was checked when
    /// loaded, so an error here means a schema file changed since.
    pub fn payload_format(&self, topic: &str) -> Result<PayloadFormat, ConfigError> {
        match self.topics.get(topic).and_then(|settings| settings.format.as_ref()) {
            None => Ok(PayloadFormat::json()),
            Some(format) => {
                PayloadFormat::load(format, Path::new(".")).map_err(|(key, message)| ConfigError::Invalid {
                    path: PathBuf::from("(config)"),
                    key: format!("topics.\"{topic}\".format.{key}"),
                    message,
                })
            }
        }
    }

    /// Only `[topics."NAME".format]` of the config file at `path`, checked as
    /// [`Config::load`] checks it: how the gateway, the simulator and `tail`
    /// write and read a topic the way the host reads it, from the host's own
    /// file. JSON when the file does not name the topic's format.
    pub fn load_topic_format(path: &Path, topic: &str) -> Result<PayloadFormat, ConfigError> {
        let document = read_table(path)?;
        let parse_error = |message: String| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        };
        let Some(section) = document
            .get("topics")
            .and_then(|topics| topics.get(topic))
            .and_then(|settings| settings.get("format"))
        else {
            return Ok(PayloadFormat::json());
        };
        let format: FormatConfig = section
            .clone()
            .try_into()
            .map_err(|error: toml::de::Error| parse_error(format!("[topics.\"{topic}\".format]: {error}")))?;
        let base = path.parent().unwrap_or(Path::new("."));
        PayloadFormat::load(&format, base).map_err(|(key, message)| ConfigError::Invalid {
            path: path.to_path_buf(),
            key: format!("topics.\"{topic}\".format.{key}"),
            message,
        })
    }

    /// Only the `[kafka]` section of the config file at `path`, checked as
    /// [`Config::load`] checks it: how the subcommands that take a broker
    /// address (`gateway`, `simulate`, `tail`) reach the brokers the way
    /// the host does, TLS and SASL included, from the host's own file.
    pub fn load_kafka_section(path: &Path) -> Result<KafkaConfig, ConfigError> {
        let mut document = read_table(path)?;
        let parse_error = |message: String| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        };
        let section = document
            .remove("kafka")
            .ok_or_else(|| parse_error("no [kafka] section".into()))?;
        let kafka: KafkaConfig = section
            .try_into()
            .map_err(|error: toml::de::Error| parse_error(format!("[kafka]: {error}")))?;
        let maps = kafka_property_maps(&kafka);
        kafka_security::validate(kafka.tls.as_ref(), kafka.sasl.as_ref(), maps).map_err(|(key, message)| {
            ConfigError::Invalid {
                path: path.to_path_buf(),
                key,
                message,
            }
        })?;
        Ok(kafka)
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

    fn validate_kafka_security(&self, path: &Path) -> Result<(), ConfigError> {
        let pipeline_maps = self.pipelines.iter().enumerate().map(|(index, pipeline)| {
            (
                format!("pipelines[{index}].consumer_properties"),
                &pipeline.consumer_properties,
            )
        });
        let maps = kafka_property_maps(&self.kafka).into_iter().chain(pipeline_maps);
        kafka_security::validate(self.kafka.tls.as_ref(), self.kafka.sasl.as_ref(), maps).map_err(|(key, message)| {
            ConfigError::Invalid {
                path: path.to_path_buf(),
                key,
                message,
            }
        })
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
            if let Some(owned) = services::host_owned_property(properties) {
                return Err(invalid(
                    format!("kafka.{field}.\"{owned}\""),
                    "is set by fleethost itself and cannot be overridden".into(),
                ));
            }
        }
        self.validate_kafka_security(path)?;
        if self.redis.ca_file.is_some() && !self.redis.url.starts_with("rediss://") {
            return Err(invalid(
                "redis.ca_file".into(),
                "is for a TLS connection: give redis.url as rediss://HOST:PORT".into(),
            ));
        }
        if self.admin.listen.is_some() && self.admin.tokens.is_empty() {
            return Err(invalid(
                "admin.tokens".into(),
                "is required with admin.listen: the bearer tokens the admin interface accepts, e.g. [\"env:FLEETHOST_ADMIN_TOKEN\"] or [\"file:/run/secrets/admin-token\"]".into(),
            ));
        }
        if self.shutdown.timeout_ms == 0 {
            return Err(invalid("shutdown.timeout_ms".into(), "must be at least 1".into()));
        }
        if self.database.max_connections == 0 {
            return Err(invalid("database.max_connections".into(), "must be at least 1".into()));
        }
        for (topic, settings) in &self.topics {
            if let Some((field, message)) = settings.problem() {
                return Err(invalid(format!("topics.\"{topic}\".{field}"), message));
            }
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
            if let Some(owned) = services::host_owned_property(&pipeline.consumer_properties) {
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
            if pipeline.coalesce == Coalesce::LatestPerKey
                && let Some((plugin, tables)) = pipeline.plugins.iter().find_map(|plugin| {
                    let tables = &self.plugins.get(plugin)?.grants.sql_write;
                    (!tables.is_empty()).then_some((plugin, tables))
                })
            {
                return Err(invalid(
                    key("coalesce"),
                    format!(
                        "\"latest-per-key\" hands the plugins only each driver's newest fix of a batch, but plugin \
                         {plugin:?} may write rows (grants.sql_write = {tables:?}): a history would miss the \
                         others; coalesce a pipeline without it"
                    ),
                ));
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
            if pipeline.nice > pipeline::MAX_NICE {
                return Err(invalid(
                    key("nice"),
                    format!(
                        "must be between 0 and {} (a Linux nice value), not {}",
                        pipeline::MAX_NICE,
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
                ("grants.publish_channels", &plugin.grants.publish_channels),
            ] {
                if prefixes.iter().any(|prefix| prefix.is_empty()) {
                    return Err(invalid(
                        key(field),
                        "an empty prefix would grant every key or channel; list the prefixes explicitly".into(),
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
mod tests;
