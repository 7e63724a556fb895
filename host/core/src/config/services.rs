//! The config's sections for the services the host talks to and serves:
//! Kafka, Redis, the database, status lines, the admin interface, shutdown.

use std::collections::BTreeMap;

use serde::Deserialize;

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
