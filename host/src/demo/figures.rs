//! The demo's live figures: every few seconds, one line with what the
//! plugins have produced so far, read from the stores they write to
//! (whichever the demo runs on): drivers with a live position, orders with
//! an ETA, and the rows of every table the plugins write (the history).
//! The pipelines' own progress lines (`status.interval_ms`) come beside it.

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::SqlitePoolOptions;
use sqlx::{AssertSqlSafe, PgPool, SqlitePool};
use tokio_util::sync::CancellationToken;

use crate::tracking::live_store::LiveSource;
use crate::tracking::map_snapshot::MapReader;

/// A connection to the demo's database, for counting rows.
enum Counter {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

impl Counter {
    fn connect_lazy(url: &str) -> Result<Self, sqlx::Error> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite(
                SqlitePoolOptions::new().max_connections(1).connect_lazy(url)?,
            ))
        } else {
            Ok(Self::Postgres(
                PgPoolOptions::new().max_connections(1).connect_lazy(url)?,
            ))
        }
    }

    /// Rows in `table` (a checked plugin grant: `[a-z0-9_.]`).
    async fn rows(&self, table: &str) -> Result<i64, sqlx::Error> {
        let sql = format!("SELECT count(*) FROM {table}");
        match self {
            Self::Postgres(pool) => sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(pool).await,
            Self::Sqlite(pool) => sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(pool).await,
        }
    }
}

/// Prints a figures line every `interval` until `shutdown`; `tables` are
/// the tables the plugins write (their `sql_write` grants).
pub async fn report(
    source: LiveSource,
    database_url: String,
    tables: Vec<String>,
    interval: Duration,
    shutdown: CancellationToken,
) -> Result<(), super::DemoError> {
    let map = MapReader::connect_lazy(&source, "").map_err(|error| super::DemoError::Part {
        part: "figures",
        reason: error.to_string(),
    })?;
    let counter = Counter::connect_lazy(&database_url).map_err(|error| super::DemoError::Part {
        part: "figures",
        reason: error.to_string(),
    })?;
    let mut ticks = tokio::time::interval(interval);
    ticks.tick().await;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = ticks.tick() => {}
        }
        let drivers = map
            .drivers()
            .await
            .map(|drivers| drivers.len().to_string())
            .unwrap_or_else(|error| format!("? ({error})"));
        let etas = map
            .etas()
            .await
            .map(|etas| etas.len().to_string())
            .unwrap_or_else(|error| format!("? ({error})"));
        let mut rows = Vec::with_capacity(tables.len());
        for table in &tables {
            let count = counter
                .rows(table)
                .await
                .map(|count| count.to_string())
                .unwrap_or_else(|_| "?".to_string());
            rows.push(format!("{table}: {count} rows"));
        }
        super::say(&format!(
            "figures: {drivers} drivers live, {etas} orders with an ETA{}{}",
            if rows.is_empty() { "" } else { ", " },
            rows.join(", ")
        ));
    }
}
