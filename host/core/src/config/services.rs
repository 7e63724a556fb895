//! The config's sections for the services the host talks to and serves:
//! Kafka, Redis, the database, status lines, the admin interface, shutdown.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Kafka connection settings shared by every pipeline's consumer and the
/// host's producer.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Comma-separated `host:port` list of brokers to bootstrap from.
    pub bootstrap_servers: String,
    /// librdkafka properties for every client, passed through as is (for
    /// example `"session.timeout.ms" = "6000"`). The properties the host
    /// sets itself because its delivery guarantees depend on them
    /// (`bootstrap.servers`, `group.id`, `enable.auto.offset.store`,
    /// `enable.auto.commit`, `auto.commit.interval.ms`,
    /// `enable.idempotence`) are refused, and so are secrets
    /// (`sasl.password`, `ssl.key.password`…): TLS and SASL are set with
    /// `tls` and `sasl`.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// librdkafka properties for the pipelines' consumers only (e.g.
    /// `"session.timeout.ms"`), applied over `properties`.
    #[serde(default)]
    pub consumer_properties: BTreeMap<String, String>,
    /// librdkafka properties for the host's producer only (e.g. `"linger.ms"`),
    /// applied over `properties`.
    #[serde(default)]
    pub producer_properties: BTreeMap<String, String>,
    /// TLS to the brokers: `{ ca_file = "…" }` (the CA that signed the
    /// brokers' certificates; absent: the system's trust store), with
    /// `cert_file` and `key_file` for brokers that require mutual TLS.
    /// Absent: plaintext.
    #[serde(default)]
    pub tls: Option<super::kafka_security::KafkaTls>,
    /// SASL authentication to the brokers: `{ mechanism = "SCRAM-SHA-512",
    /// username = "…", password = "env:KAFKA_PASSWORD" }`, the password
    /// from a file or the environment. Absent: no authentication.
    #[serde(default)]
    pub sasl: Option<super::kafka_security::KafkaSasl>,
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
            tls: None,
            sasl: None,
        }
    }
}

/// Redis connection settings.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// The Redis behind the `kv` capability, e.g. `redis://127.0.0.1:6379/0`;
    /// connected lazily, so the host starts while Redis is down. `memory:` is
    /// the embedded in-process store instead: Redis's semantics for every kv
    /// operation, TTLs and pub/sub, but one process only, nothing kept at
    /// exit and not shared with other instances (for a demo or a laptop, not
    /// for production).
    #[serde(default = "default_redis_url")]
    pub url: String,
    /// PEM file of the CA certificates a `rediss://` server's certificate is
    /// checked against (its host name too). Absent: the system's trust
    /// store. Only with a `rediss://` URL.
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: default_redis_url(),
            ca_file: None,
        }
    }
}

fn default_redis_url() -> String {
    "redis://127.0.0.1:6379".to_string()
}

/// Database connection settings for the `sql` capability.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// The database behind the `sql` capability: PostgreSQL, e.g.
    /// `postgres://postgres@127.0.0.1:5432/test`, or `sqlite://PATH` for an
    /// embedded database in one file, created when missing (a demo without
    /// PostgreSQL: one host process only, no `schema.table` names, not for
    /// production). Connected lazily. Without it, plugins granted
    /// `sql_read`/`sql_write` are refused at startup.
    #[serde(default)]
    pub url: Option<String>,
    /// Size of the connection pool, shared by every plugin.
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
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusConfig {
    /// Milliseconds between two progress lines (events/s, batches, lag) per
    /// pipeline; 0 turns them off.
    #[serde(default = "default_status_interval_ms")]
    pub interval_ms: u64,
    /// Milliseconds between two measurements of each pipeline's rates and
    /// of each assigned partition's lag (high watermark minus committed
    /// offset: one watermark request per partition and one committed-offsets
    /// request per pipeline to the broker), shown by `/metrics`,
    /// `fleethost status` and the progress line; 0 turns them off.
    #[serde(default = "default_status_interval_ms")]
    pub sample_interval_ms: u64,
}

impl Default for StatusConfig {
    fn default() -> Self {
        Self {
            interval_ms: default_status_interval_ms(),
            sample_interval_ms: default_status_interval_ms(),
        }
    }
}

fn default_status_interval_ms() -> u64 {
    5000
}

/// The admin HTTP interface.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// `host:port` of the admin HTTP interface, e.g. `"127.0.0.1:9464"`:
    /// `GET /health`, `GET /metrics` (Prometheus text), `GET /plugins`,
    /// `GET /pipelines`, `POST /plugins/{name}/reload`,
    /// `POST /pipelines/{name}/pause` and `…/resume` (`?partition=N`), and
    /// `fleethost record`'s `POST /plugins/{name}/recording?batches=N`,
    /// `GET /plugins/{name}/recording`, `POST …/recording/stop` and
    /// `GET …/recording/component`. Absent: no admin interface. Every route but `/health` needs one of
    /// `tokens`.
    #[serde(default)]
    pub listen: Option<std::net::SocketAddr>,
    /// Where the bearer tokens the admin interface accepts are read from at
    /// startup, each `file:PATH` or `env:NAME` (never the token itself):
    /// requests send `Authorization: Bearer TOKEN`. Required with `listen`;
    /// two while one is rotated (docs/security.md).
    #[serde(default)]
    pub tokens: Vec<crate::auth::SecretSource>,
    /// Serve HTTPS instead of HTTP: `{ cert_file = "…", key_file = "…" }`,
    /// PEM files read at startup (the chain leaf first; the key readable by
    /// fleethost's user only). Clients then connect with `https://`;
    /// plaintext connections fail their handshake and are closed.
    #[serde(default)]
    pub tls: Option<crate::tls::TlsFiles>,
}

/// The bound of a shutdown.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShutdownConfig {
    /// Milliseconds from the first SIGINT/SIGTERM within which the host must
    /// have stopped consuming, finished its in-flight batches, committed and
    /// closed its consumers. When it has not (a broker that stopped
    /// answering can hold a commit or a consumer's close forever), it logs
    /// and prints which parts did not finish and what each was doing, and
    /// exits with status 124; what it
    /// had not committed is redelivered. `fleethost demo
    /// --shutdown-timeout-ms` overrides it; `tail`, `gateway`, `track` and
    /// `simulate` have a fixed 120 s.
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

/// Properties fleethost sets itself: overriding them would break
/// at-least-once delivery or the pipeline/group mapping.
pub const HOST_OWNED_PROPERTIES: [&str; 6] = [
    "bootstrap.servers",
    "group.id",
    "enable.auto.offset.store",
    "enable.auto.commit",
    "auto.commit.interval.ms",
    "enable.idempotence",
];

/// The first property in `properties` that the host owns, if any.
pub fn host_owned_property(properties: &BTreeMap<String, String>) -> Option<&str> {
    properties
        .keys()
        .map(String::as_str)
        .find(|key| HOST_OWNED_PROPERTIES.contains(key))
}
