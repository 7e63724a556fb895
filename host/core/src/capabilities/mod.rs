//! The capabilities plugins import, one module each, with its backends in
//! its folder: `kv/` (Redis, the embedded store), `sql/` (PostgreSQL with
//! its COPY path, SQLite, the shared statement text), `produce` (the shared
//! producer), `log`, `state/` (the state plugins keep per partition, over the
//! kv store). A capability's grant checks are kept apart from its
//! backends, so each can be tested and swapped on its own; the WIT `Host`
//! impls that call them live in the runtime (`runtime/linked_capabilities.rs`).

pub mod grants;
pub mod identity;
pub mod kv;
pub mod log;
pub mod outage;
pub mod produce;
pub mod shadow;
pub mod sql;
pub mod state;

use crate::config::Config;
use crate::kafka::producer::Producer;

/// The backends behind the capabilities, shared by every plugin instance of
/// the process. Each connects lazily: the host starts while a backend is
/// down, and calls report `unavailable` until it is up.
#[derive(Clone)]
pub struct Backends {
    /// Redis, or the embedded in-process store (`redis.url = "memory:"`),
    /// behind `kv`.
    pub kv: kv::backend::KvBackend,
    /// The database behind `sql`, PostgreSQL or an SQLite file by the
    /// scheme of `database.url`; `None` without one.
    pub sql: Option<sql::backend::SqlBackend>,
    /// The shared idempotent producer, behind `produce` (and dead letters);
    /// `None` for `fleethost check`, which does not touch Kafka.
    pub producer: Option<Producer>,
    /// Where a replayed plugin version's writes go instead (`fleethost
    /// replay`); `None` everywhere else.
    pub shadow: Option<std::sync::Arc<shadow::Shadow>>,
}

/// Why a backend could not be set up; names the config key.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The Redis URL is not usable.
    #[error("redis.url: {0}")]
    Redis(#[from] redis::RedisError),
    /// The database URL is not usable (unknown scheme, malformed).
    #[error("database.url: {0}")]
    Database(#[from] sqlx::Error),
}

impl Backends {
    /// The backends `config` names, with `producer` behind `produce`. Must run
    /// inside the tokio runtime.
    pub fn connect(config: &Config, producer: Option<Producer>) -> Result<Self, BackendError> {
        let sql = match &config.database.url {
            Some(url) => Some(sql::backend::SqlBackend::connect_lazy(
                url,
                config.database.max_connections,
            )?),
            None => None,
        };
        Ok(Self {
            kv: kv::backend::KvBackend::connect_lazy_trusting(&config.redis.url, config.redis.ca_file.as_deref())?,
            sql,
            producer,
            shadow: None,
        })
    }
}
