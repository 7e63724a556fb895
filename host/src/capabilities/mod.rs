//! The capabilities plugins import, one file each. A capability's WIT-facing
//! code (the `Host` trait impls, grant checks) is kept apart from its backend
//! (Redis, PostgreSQL, Kafka), so grant checks and backends can be tested and
//! swapped on their own.

pub mod compat_v0_1;
pub mod grants;
pub mod kv;
pub mod kv_backend;
pub mod log;
pub mod memory_kv;
pub mod postgres_copy;
pub mod postgres_sql;
pub mod produce;
pub mod redis_kv;
pub mod sql;

use crate::config::Config;
use crate::kafka::producer::Producer;

impl crate::runtime::types_host::Host for crate::runtime::HostState {}

/// The backends behind the capabilities, shared by every plugin instance of
/// the process. Each connects lazily: the host starts while a backend is
/// down, and calls report `unavailable` until it is up.
#[derive(Clone)]
pub struct Backends {
    /// Redis (or the embedded store), behind `kv`.
    pub kv: kv_backend::KvBackend,
    /// PostgreSQL, behind `sql`; `None` without `database.url`.
    pub sql: Option<postgres_sql::PostgresSql>,
    /// The shared idempotent producer, behind `produce` (and dead letters);
    /// `None` for `fleethost check`, which does not touch Kafka.
    pub producer: Option<Producer>,
}

/// Why a backend could not be set up; names the config key.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The Redis URL is not usable.
    #[error("redis.url: {0}")]
    Redis(#[from] redis::RedisError),
    /// The PostgreSQL URL is not usable.
    #[error("database.url: {0}")]
    Database(#[from] sqlx::Error),
}

impl Backends {
    /// The backends `config` names, with `producer` behind `produce`. Must run
    /// inside the tokio runtime.
    pub fn connect(config: &Config, producer: Option<Producer>) -> Result<Self, BackendError> {
        let sql = match &config.database.url {
            Some(url) => Some(postgres_sql::PostgresSql::connect_lazy(
                url,
                config.database.max_connections,
            )?),
            None => None,
        };
        Ok(Self {
            kv: kv_backend::KvBackend::connect_lazy(&config.redis.url)?,
            sql,
            producer,
        })
    }
}
