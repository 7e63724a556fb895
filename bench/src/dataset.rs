//! The benchmark's data: one fleet's fixes (and their order events),
//! produced to Kafka once per run, then consumed by every contender from the
//! same topics, and written as a CSV file of the very rows the history table
//! receives, for PostgreSQL's own bulk load.
//!
//! The fleet is the simulator's ([`fleethost_apps::simulate::trip_model`]): each
//! driver sends one fix per second of event time along its trips, so the
//! order events and fixes agree and the ETA, fare and geofence plugins have
//! real work to do.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use fleethost_apps::simulate::trip_model::{DriverModel, Fix, TripRules};
use fleethost_apps::simulate::{CITY, messages};
use fleethost_core::config::KafkaConfig;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;

/// How much data, and where it goes.
#[derive(Debug, Clone)]
pub struct DatasetSpec {
    /// Location fixes in all.
    pub events: u64,
    /// Drivers sending them, in turn (one fix per driver per second of event time).
    pub drivers: usize,
    /// Partitions of both topics.
    pub partitions: i32,
    /// Topic of the fixes.
    pub fixes_topic: String,
    /// Topic of the order events.
    pub orders_topic: String,
}

/// The produced data: where each topic ends, and the history rows as CSV.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub spec: DatasetSpec,
    /// Order events produced besides the fixes.
    pub orders: u64,
    /// Per (topic, partition): the offset after the last produced record.
    pub end_offsets: BTreeMap<(String, i32), i64>,
    /// The rows the history table receives for the fixes, in its column order.
    pub history_csv: PathBuf,
}

impl Dataset {
    /// End offsets of the given topics, per (topic, partition): what a
    /// consumer group of them must commit to be done.
    pub fn end_offsets_of(&self, topics: &[&str]) -> BTreeMap<(String, i32), i64> {
        self.end_offsets
            .iter()
            .filter(|((topic, _), _)| topics.contains(&topic.as_str()))
            .map(|(key, end)| (key.clone(), *end))
            .collect()
    }
}

/// One history row before its Kafka position is known.
struct PendingRow {
    driver_id: String,
    fix: Fix,
    region: &'static str,
}

/// Generates the fleet's fixes and order events, produces them (keyed by
/// driver, like the gateway), and writes `history.csv` into `out_dir`.
pub async fn produce(bootstrap: &str, spec: DatasetSpec, out_dir: &Path) -> anyhow::Result<Dataset> {
    let kafka = KafkaConfig::bootstrap_only(bootstrap.to_string());
    let topics = [spec.fixes_topic.clone(), spec.orders_topic.clone()];
    fleethost_core::kafka::admin::ensure_topics(&kafka, &topics, spec.partitions)
        .await
        .context("creating the benchmark topics")?;
    let producer: FutureProducer = fleethost_core::kafka::client_config::producer(&kafka)?
        .set("linger.ms", "20")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .context("creating the producer")?;

    let start_ms: i64 = 1_764_000_000_000;
    let drivers = spec.drivers.max(1);
    let mut fleet: Vec<DriverModel> = (0..drivers)
        .map(|index| DriverModel::new(index, 42, start_ms, CITY, TripRules::default()))
        .collect();
    let mut rows: Vec<PendingRow> = Vec::with_capacity(spec.events as usize);
    let mut positions: Vec<(i32, i64)> = Vec::with_capacity(spec.events as usize);
    let mut pending: Vec<(bool, DeliveryFuture)> = Vec::new();
    let mut end_offsets = BTreeMap::new();
    let mut orders = 0u64;
    for index in 0..spec.events {
        let driver = (index % drivers as u64) as usize;
        let second = (index / drivers as u64) as i64;
        // Drivers report spread over each second, in turn.
        let timestamp_ms = start_ms + second * 1000 + (driver as i64 * 1000) / drivers as i64;
        let model = &mut fleet[driver];
        let step = model.fix_at(timestamp_ms);
        let driver_id = model.driver_id().to_string();
        let payload = messages::fix_json(&driver_id, &step.fix, &CITY, true);
        pending.push((
            true,
            enqueue(&producer, &spec.fixes_topic, &driver_id, &payload, timestamp_ms).await?,
        ));
        if let Some(event) = &step.order_event {
            let order = messages::order_json(&driver_id, event);
            pending.push((
                false,
                enqueue(&producer, &spec.orders_topic, &driver_id, &order, timestamp_ms).await?,
            ));
            orders += 1;
        }
        let region = if step.fix.position.latitude < CITY.centre().latitude {
            "south"
        } else {
            "north"
        };
        rows.push(PendingRow {
            driver_id,
            fix: step.fix,
            region,
        });
        if pending.len() >= 100_000 {
            settle(&spec, &mut pending, &mut positions, &mut end_offsets).await?;
        }
    }
    settle(&spec, &mut pending, &mut positions, &mut end_offsets).await?;
    producer
        .flush(Duration::from_secs(30))
        .context("flushing the producer")?;

    let history_csv = out_dir.join("history.csv");
    write_history_csv(&history_csv, &spec.fixes_topic, &rows, &positions)?;
    Ok(Dataset {
        spec,
        orders,
        end_offsets,
        history_csv,
    })
}

/// Hands one record to the producer, waiting while its queue is full.
async fn enqueue(
    producer: &FutureProducer,
    topic: &str,
    key: &str,
    payload: &str,
    timestamp_ms: i64,
) -> anyhow::Result<DeliveryFuture> {
    loop {
        let record = FutureRecord::to(topic)
            .key(key)
            .payload(payload)
            .timestamp(timestamp_ms);
        match producer.send_result(record) {
            Ok(delivery) => return Ok(delivery),
            Err((rdkafka::error::KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err((error, _)) => bail!("producing to {topic}: {error}"),
        }
    }
}

/// Waits for the queued deliveries, in order, recording each fix's position.
async fn settle(
    spec: &DatasetSpec,
    pending: &mut Vec<(bool, DeliveryFuture)>,
    positions: &mut Vec<(i32, i64)>,
    end_offsets: &mut BTreeMap<(String, i32), i64>,
) -> anyhow::Result<()> {
    for (is_fix, delivery) in pending.drain(..) {
        let topic = if is_fix { &spec.fixes_topic } else { &spec.orders_topic };
        let delivered = delivery
            .await
            .context("the producer went away")?
            .map_err(|(error, _)| anyhow::anyhow!("producing to {topic}: {error}"))?;
        let end = end_offsets.entry((topic.clone(), delivered.partition)).or_insert(0);
        *end = (*end).max(delivered.offset + 1);
        if is_fix {
            positions.push((delivered.partition, delivered.offset));
        }
    }
    Ok(())
}

/// The history rows in the db-writer's column order (see
/// `plugins/db-writer`), as CSV for `psql \copy`.
fn write_history_csv(path: &Path, topic: &str, rows: &[PendingRow], positions: &[(i32, i64)]) -> anyhow::Result<()> {
    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::new(file);
    for (row, (partition, offset)) in rows.iter().zip(positions) {
        let fix = &row.fix;
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{}",
            row.driver_id,
            fix.position.latitude,
            fix.position.longitude,
            timestamptz(fix.timestamp_ms),
            row.region,
            fix.order_id.as_deref().unwrap_or(""),
            fix.speed_mps,
            fix.heading_deg,
            topic,
            partition,
            offset
        )?;
    }
    out.flush()?;
    Ok(())
}

/// Epoch milliseconds as a PostgreSQL `timestamptz` literal (UTC).
fn timestamptz(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S%.3f+00")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_literals() {
        assert_eq!(timestamptz(0), "1970-01-01 00:00:00.000+00");
        assert_eq!(timestamptz(1_764_000_000_123), "2025-11-24 16:00:00.123+00");
        assert_eq!(timestamptz(951_782_400_000), "2000-02-29 00:00:00.000+00");
    }
}
