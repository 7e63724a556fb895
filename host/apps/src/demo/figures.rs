//! The demo's live figures: every few seconds, one line with what the
//! plugins have produced so far, read from the stores they write to
//! (whichever the demo runs on): drivers with a live position, orders with
//! an ETA, and the rows of every table the plugins write (the history).
//! The pipelines' own progress lines (`status.interval_ms`) come beside it.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::tracking::live_keys::LiveKeys;
use crate::tracking::live_store::LiveSource;
use crate::tracking::map_snapshot::MapReader;
use fleethost_core::capabilities::sql::backend::SqlBackend;

/// Prints a figures line every `interval` until `shutdown`: the drivers and
/// ETAs where `keys` (in the run's namespace) say and the rows of `tables`,
/// the tables the plugins write (their `sql_write` grants).
pub async fn report(
    source: LiveSource,
    keys: LiveKeys,
    database_url: String,
    tables: Vec<String>,
    interval: Duration,
    shutdown: CancellationToken,
) -> Result<(), super::DemoError> {
    let map = MapReader::connect_lazy(&source, &keys).map_err(|error| super::DemoError::Part {
        part: "figures",
        reason: error.to_string(),
    })?;
    let counter = SqlBackend::connect_lazy(&database_url, 1).map_err(|error| super::DemoError::Part {
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
                .count_rows(table)
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
