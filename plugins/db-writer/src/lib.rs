//! db-writer: durable location history in PostgreSQL, one round trip per batch.
//!
//! Every location fix of a batch becomes one row of the history table, and the
//! whole batch is one `sql.insert` (column by column, `on-conflict: do-nothing`).
//! The table is unique on the fix's Kafka source position, so a batch delivered
//! twice (at-least-once) adds no row the second time.
//!
//! The plugin creates its table when missing with `sql.ensure-table`, once per
//! instance: an instance remembers that it did (a cache only; a fresh instance
//! asks again, which costs one `CREATE … IF NOT EXISTS`). A failed attempt is
//! not remembered, so the next batch tries again.
//!
//! # Config
//!
//! | key     | default            | meaning                                                        |
//! |---------|--------------------|----------------------------------------------------------------|
//! | `table` | `driver_locations` | the history table, `name` or `schema.name` (lowercase identifiers) |
//!
//! Unknown keys refuse the instance. The host's grants must give `sql_write` on
//! the table.
//!
//! # Columns
//!
//! | column            | type               | null | from                                      |
//! |-------------------|--------------------|------|-------------------------------------------|
//! | `driver_id`       | `text`             | no   | `event.driver-id`                         |
//! | `latitude`        | `double precision` | no   | `event.latitude` (degrees)                |
//! | `longitude`       | `double precision` | no   | `event.longitude` (degrees)               |
//! | `recorded_at`     | `timestamptz`      | no   | `event.timestamp-ms` (event time)         |
//! | `region`          | `text`             | yes  | `event.region`                            |
//! | `order_id`        | `text`             | yes  | `event.order-id`                          |
//! | `speed`           | `double precision` | yes  | `event.speed` (m/s); NaN/±inf stored NULL |
//! | `heading`         | `double precision` | yes  | `event.heading` (degrees); NaN/±inf NULL  |
//! | `kafka_topic`     | `text`             | no   | `batch.topic`                             |
//! | `kafka_partition` | `bigint`           | no   | `batch.partition`                         |
//! | `kafka_offset`    | `bigint`           | no   | `event.offset`                            |
//!
//! Unique on (`kafka_topic`, `kafka_partition`, `kafka_offset`); indexed on
//! (`driver_id`, `recorded_at`) for "where was this driver between T1 and T2".
//!
//! # Order batches
//!
//! Order lifecycle events (`batch.orders`) are not locations: a batch of them
//! is accepted without writing anything. A db-writer pipeline normally does not
//! subscribe to order topics at all; this only keeps a pipeline that does from
//! failing.
//!
//! # Errors
//!
//! PostgreSQL unreachable (`unavailable`) fails the batch as retryable: the host
//! pauses the partition and retries it until the database is back, and nothing
//! is lost or written twice. `denied` (missing `sql_write` grant) and `invalid`
//! (e.g. an existing table of another shape) fail it as fatal.

mod history;
mod settings;

use fleethost_plugin_sdk::sql::{self, SqlError};
use fleethost_plugin_sdk::{Batch, BatchOutcome, Guest, PluginConfig, PluginError, Slot, log};

use settings::Settings;

/// The plugin's [`Guest`] implementation; public so that the host can link
/// it natively (feature `native`) for the benchmark.
pub struct DbWriter;

/// What one instance keeps between batches.
struct Instance {
    settings: Settings,
    /// Whether `ensure-table` succeeded in this instance.
    table_ensured: bool,
}

thread_local! {
    /// What `init` set up, updated by the batches.
    static INSTANCE: Slot<Instance> = const { Slot::new() };
}

impl Guest for DbWriter {
    fn init(config: Vec<(String, String)>) -> Result<(), String> {
        let settings = Settings::from_config(&PluginConfig::new(config))?;
        INSTANCE.with(|slot| {
            slot.set(Instance {
                settings,
                table_ensured: false,
            })
        });
        Ok(())
    }

    fn process_batch(batch: Batch) -> Result<BatchOutcome, PluginError> {
        INSTANCE.with(|slot| slot.with_mut(|instance| process(instance, &batch)))?;
        Ok(BatchOutcome { rejected: Vec::new() })
    }
}

/// Writes the batch's fixes, creating the table first if this instance has
/// not yet.
fn process(instance: &mut Instance, batch: &Batch) -> Result<(), PluginError> {
    if batch.events.is_empty() {
        log::debug(&format!(
            "{} partition {}: {} order events, not locations: nothing written",
            batch.topic,
            batch.partition,
            batch.orders.len()
        ));
        return Ok(());
    }
    let table = instance.settings.table.as_str();
    if !instance.table_ensured {
        sql::ensure_table(&history::table_def(table)).map_err(in_context("creating", table))?;
        instance.table_ensured = true;
    }
    let insert = history::insert_op(table, &batch.topic, batch.partition, &batch.events);
    let written: u64 = sql::insert(std::slice::from_ref(&insert))
        .map_err(in_context("inserting into", table))?
        .iter()
        .sum();
    let rows = batch.events.len() as u64;
    log::debug(&format!(
        "{} partition {}: {rows} fixes, {written} rows written to {table}, {} duplicates skipped",
        batch.topic,
        batch.partition,
        rows.saturating_sub(written)
    ));
    Ok(())
}

/// Turns a sql error into the batch's error (unavailable stays retryable),
/// saying what the plugin was doing to which table.
fn in_context(doing: &'static str, table: &str) -> impl FnOnce(SqlError) -> PluginError {
    let table = table.to_string();
    move |error| {
        let mut error = PluginError::from(error);
        error.message = format!("{doing} table {table}: {}", error.message);
        error
    }
}

fleethost_plugin_sdk::export_plugin!(DbWriter);
