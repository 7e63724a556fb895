//! The database behind the `sql` capability, chosen by the scheme of
//! `database.url`: PostgreSQL in production, or an embedded SQLite file for a
//! demo without a database server. Both take the same checked requests and
//! give the same errors, so plugins cannot tell them apart.

use crate::bindings::sql::{InsertOp, SelectOp, SqlError, TableDef, Value};
use crate::capabilities::sql::postgres::PostgresSql;
use crate::capabilities::sql::sqlite::SqliteSql;

/// The URL schemes `database.url` accepts, for the message that refuses
/// another one.
const ACCEPTED_SCHEMES: &str = "postgres://, postgresql:// or sqlite://";

/// One backend, shared by every plugin instance.
#[derive(Clone)]
pub enum SqlBackend {
    /// A PostgreSQL server (`postgres://` or `postgresql://`).
    Postgres(PostgresSql),
    /// An SQLite file (`sqlite://PATH` or `sqlite:PATH`): one host process only.
    Sqlite(SqliteSql),
}

impl SqlBackend {
    /// The backend `url`'s scheme names, connecting on first use; an
    /// unknown scheme is refused here, naming it and the accepted ones (and
    /// not the rest of the URL, which may hold a password).
    pub fn connect_lazy(url: &str, max_connections: u32) -> Result<Self, sqlx::Error> {
        let Some((scheme, _)) = url.split_once(':') else {
            return Err(sqlx::Error::Configuration(
                format!("the URL has no scheme; use {ACCEPTED_SCHEMES}").into(),
            ));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => Ok(Self::Postgres(PostgresSql::connect_lazy(url, max_connections)?)),
            "sqlite" => Ok(Self::Sqlite(SqliteSql::connect_lazy(url, max_connections)?)),
            _ => Err(sqlx::Error::Configuration(
                format!("the URL scheme {scheme:?} is not a database fleethost knows; use {ACCEPTED_SCHEMES}").into(),
            )),
        }
    }

    /// Rows in `table` (a checked plugin grant): the demo's figures line.
    pub async fn count_rows(&self, table: &str) -> Result<i64, sqlx::Error> {
        match self {
            Self::Postgres(backend) => backend.count_rows(table).await,
            Self::Sqlite(backend) => backend.count_rows(table).await,
        }
    }

    /// Creates `table` with its unique constraint and indexes when missing.
    pub async fn ensure_table(&self, table: &TableDef) -> Result<(), SqlError> {
        match self {
            Self::Postgres(backend) => backend.ensure_table(table).await,
            Self::Sqlite(backend) => backend.ensure_table(table).await,
        }
    }

    /// Runs every insert in one transaction; the rows written per op,
    /// conflicts skipped not counted.
    pub async fn insert(&self, ops: &[InsertOp]) -> Result<Vec<u64>, SqlError> {
        match self {
            Self::Postgres(backend) => backend.insert(ops).await,
            Self::Sqlite(backend) => backend.insert(ops).await,
        }
    }

    /// The requested columns of the rows whose key column (as text) is one of
    /// the keys.
    pub async fn select(&self, query: &SelectOp) -> Result<Vec<Vec<Value>>, SqlError> {
        match self {
            Self::Postgres(backend) => backend.select(query).await,
            Self::Sqlite(backend) => backend.select(query).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(url: &str) -> String {
        match SqlBackend::connect_lazy(url, 1) {
            Err(error) => error.to_string(),
            Ok(_) => panic!("{url} was accepted"),
        }
    }

    #[tokio::test]
    async fn the_url_scheme_chooses_the_backend() {
        for url in ["postgres://postgres@127.0.0.1:5432/test", "postgresql://u@h/db"] {
            assert!(
                matches!(SqlBackend::connect_lazy(url, 1), Ok(SqlBackend::Postgres(_))),
                "{url}"
            );
        }
        let path = std::env::temp_dir().join(format!("fleethost-backend-{}.db", std::process::id()));
        for url in [
            format!("sqlite://{}", path.display()),
            format!("sqlite:{}", path.display()),
        ] {
            assert!(
                matches!(SqlBackend::connect_lazy(&url, 1), Ok(SqlBackend::Sqlite(_))),
                "{url}"
            );
        }
    }

    #[tokio::test]
    async fn another_scheme_is_refused_naming_it_and_the_accepted_ones_but_no_password() {
        let message = refusal("mysql://root:hunter2@127.0.0.1/test");
        assert!(message.contains("\"mysql\""), "{message}");
        assert!(message.contains("postgres://, postgresql:// or sqlite://"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        let message = refusal("/var/lib/fleethost.db");
        assert!(message.contains("no scheme"), "{message}");
        assert!(message.contains("sqlite://"), "{message}");
    }
}
