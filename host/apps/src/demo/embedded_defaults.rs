//! Which Redis and database the demo uses: the ones given on the command
//! line (used as given; the demo stops when they do not answer), else the
//! config's when they answer, else the embedded defaults (the in-process
//! store for `kv`, a SQLite file for `sql`), so that the demo runs on a
//! machine with neither; every choice is said out loud.

use std::path::Path;
use std::time::Duration;

use sqlx::Connection;

use crate::tracking::live_store::{LiveSource, RedisAt};
use fleethost_core::capabilities::kv::backend::{KvBackend, MEMORY_URL, is_memory_url};
use fleethost_core::capabilities::kv::memory::MemoryKv;

/// How long a store may take to answer the probe before the demo falls
/// back to its embedded default.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The SQLite file of the embedded database, in the demo's data folder.
pub const SQLITE_FILE: &str = "fleethost-demo.sqlite";

/// The kv store the demo runs on.
pub struct KvChoice {
    /// What the pipelines use.
    pub backend: KvBackend,
    /// What the tracking server reads and follows: the same store.
    pub source: LiveSource,
    /// One line saying which store and why.
    pub note: String,
}

/// The database the demo runs on.
pub struct DatabaseChoice {
    /// The `database.url` the pipelines use.
    pub url: String,
    /// One line saying which database and why.
    pub note: String,
}

/// Why a store given on the command line cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ChoiceError {
    /// `--redis-url` does not answer.
    #[error("--redis-url {url}: {reason} (leave the flag out to fall back to the embedded store)")]
    Redis { url: String, reason: String },
    /// `--database-url` does not answer.
    #[error("--database-url {url}: {reason} (leave the flag out to fall back to SQLite)")]
    Database { url: String, reason: String },
}

/// The kv store: `explicit` (`--redis-url`) as given, else `configured`
/// (`redis.url`) when it answers a PING, else a new embedded store.
pub async fn choose_kv(explicit: Option<&str>, configured: &str) -> Result<KvChoice, ChoiceError> {
    let embedded = |note: String| {
        let memory = MemoryKv::new();
        KvChoice {
            backend: KvBackend::Memory(memory.clone()),
            source: LiveSource::Memory(memory),
            note,
        }
    };
    let (url, given) = match explicit {
        Some(url) => (url, true),
        None => (configured, false),
    };
    if is_memory_url(url) {
        return Ok(embedded(format!(
            "kv: the embedded in-process store ({MEMORY_URL}): live positions, ETAs and trip state stay in this process and are gone when it exits"
        )));
    }
    match ping_redis(url).await {
        Ok(()) => {
            let backend = KvBackend::connect_lazy(url).map_err(|error| ChoiceError::Redis {
                url: url.to_string(),
                reason: error.to_string(),
            })?;
            Ok(KvChoice {
                backend,
                source: LiveSource::Redis(RedisAt::url(url)),
                note: format!("kv: Redis at {url}"),
            })
        }
        Err(reason) if given => Err(ChoiceError::Redis {
            url: url.to_string(),
            reason,
        }),
        Err(reason) => Ok(embedded(format!(
            "kv: Redis at {url} does not answer ({reason}); running on the embedded in-process store instead (gone when the demo exits; --redis-url URL for a real Redis)"
        ))),
    }
}

/// The database: `explicit` (`--database-url`) as given, else `configured`
/// (`database.url`) when it accepts a connection, else a SQLite file in
/// `data_dir`.
pub async fn choose_database(
    explicit: Option<&str>,
    configured: Option<&str>,
    data_dir: &Path,
) -> Result<DatabaseChoice, ChoiceError> {
    let sqlite_url = format!("sqlite://{}", data_dir.join(SQLITE_FILE).display());
    let (url, given) = match (explicit, configured) {
        (Some(url), _) => (url, true),
        (None, Some(url)) => (url, false),
        (None, None) => {
            return Ok(DatabaseChoice {
                note: format!("sql: no database.url in the config; the embedded SQLite database {sqlite_url}"),
                url: sqlite_url,
            });
        }
    };
    if url.starts_with("sqlite:") {
        return Ok(DatabaseChoice {
            url: url.to_string(),
            note: format!("sql: the embedded SQLite database {url}"),
        });
    }
    match probe_postgres(url).await {
        Ok(()) => Ok(DatabaseChoice {
            url: url.to_string(),
            note: format!("sql: PostgreSQL at {}", without_password(url)),
        }),
        Err(reason) if given => Err(ChoiceError::Database {
            url: without_password(url),
            reason,
        }),
        Err(reason) => Ok(DatabaseChoice {
            note: format!(
                "sql: PostgreSQL at {} does not answer ({reason}); running on the embedded SQLite database {sqlite_url} instead (--database-url URL for a real PostgreSQL)",
                without_password(url)
            ),
            url: sqlite_url,
        }),
    }
}

/// Ok when the Redis at `url` answers PING within [`PROBE_TIMEOUT`].
async fn ping_redis(url: &str) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|error| error.to_string())?;
    let probe = async {
        let mut connection = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut connection).await
    };
    match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("no answer within {PROBE_TIMEOUT:?}")),
    }
}

/// Ok when the PostgreSQL at `url` accepts a connection within
/// [`PROBE_TIMEOUT`].
async fn probe_postgres(url: &str) -> Result<(), String> {
    match tokio::time::timeout(PROBE_TIMEOUT, sqlx::PgConnection::connect(url)).await {
        Ok(Ok(connection)) => {
            let _ = connection.close().await;
            Ok(())
        }
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("no answer within {PROBE_TIMEOUT:?}")),
    }
}

/// `url` with its password, if any, replaced by `***`, for the log.
fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unreachable_redis_falls_back_to_the_embedded_store_unless_given() {
        let choice = choose_kv(None, "redis://127.0.0.1:1").await.expect("a fallback");
        assert!(matches!(choice.backend, KvBackend::Memory(_)));
        assert!(matches!(choice.source, LiveSource::Memory(_)));
        assert!(choice.note.contains("does not answer"), "{}", choice.note);
        let error = choose_kv(Some("redis://127.0.0.1:1"), "memory:")
            .await
            .err()
            .expect("a given Redis is used as given");
        assert!(
            error.to_string().starts_with("--redis-url redis://127.0.0.1:1: "),
            "{error}"
        );
        let choice = choose_kv(None, "memory:").await.expect("embedded on request");
        assert!(matches!(choice.backend, KvBackend::Memory(_)));
    }

    #[tokio::test]
    async fn an_unreachable_postgres_falls_back_to_sqlite_unless_given() {
        let dir = Path::new("/tmp/demo-data");
        let choice = choose_database(None, Some("postgres://fleethost:secret@127.0.0.1:1/test"), dir)
            .await
            .expect("a fallback");
        assert_eq!(choice.url, "sqlite:///tmp/demo-data/fleethost-demo.sqlite");
        assert!(choice.note.contains("does not answer"), "{}", choice.note);
        assert!(
            !choice.note.contains("secret"),
            "no password in the log: {}",
            choice.note
        );
        let error = choose_database(Some("postgres://127.0.0.1:1/test"), None, dir)
            .await
            .err()
            .expect("a given database is used as given");
        assert!(error.to_string().starts_with("--database-url "), "{error}");
        let choice = choose_database(None, None, dir).await.expect("no database configured");
        assert!(choice.url.starts_with("sqlite://"));
    }
}
