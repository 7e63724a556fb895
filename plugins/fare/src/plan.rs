//! A fare record and what storing or publishing it adds to a batch's [`Plan`]
//! (built by pure functions, so that tests can inspect it without a host).
//!
//! `Plan::apply` sends before it writes: if the write fails after the send,
//! the retried batch publishes the final fare again (a duplicate, the only way
//! one can happen); the other order could lose the final fare for good.

use fleethost_plugin_sdk::Plan;
use fleethost_plugin_sdk::json::JsonObject;
use fleethost_plugin_sdk::kv::{FieldValue, UpsertNewerOp, WriteOp};
use fleethost_plugin_sdk::produce::Message;
use fleethost_plugin_sdk::record::Decimal;
use fleethost_plugin_sdk::trip::Trip;

use crate::pricing::Quote;
use crate::settings::Settings;
use crate::state::Metering;

/// The version of a final (or cancelled) fare record: above any event time,
/// so a running estimate written late never replaces it; 2^53 - 1 stays exact
/// in the store's script numbers.
pub const FINAL_VERSION: i64 = (1 << 53) - 1;

/// Where a fare stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The trip is under way; the fare is an estimate.
    Running,
    /// Delivered: the fare is what the customer pays.
    Final,
    /// Cancelled after pickup; the figures are those at cancellation.
    Cancelled,
}

impl Status {
    /// The status as written (`running`, `final`, `cancelled`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Final => "final",
            Status::Cancelled => "cancelled",
        }
    }
}

/// One fare of one order at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct FareRecord {
    pub order_id: String,
    pub driver_id: String,
    pub status: Status,
    pub quote: Quote,
    /// Event time the figures hold for: the newest fix (running) or the
    /// delivery / cancellation.
    pub ts_ms: i64,
}

impl FareRecord {
    /// The fare of `trip` as metered by `metering` (nothing metered: 0 m and
    /// no region), for the time from the pickup to `ts_ms`.
    pub fn new(settings: &Settings, trip: &Trip, metering: Option<&Metering>, status: Status, ts_ms: i64) -> Self {
        let since_ms = trip.picked_up_ms.unwrap_or(ts_ms);
        let duration_s = (ts_ms - since_ms).max(0) as f64 / 1000.0;
        let distance_m = metering.map_or(0.0, |metering| metering.odometer.distance_m);
        let region = metering.and_then(|metering| metering.region.as_deref());
        Self {
            order_id: trip.order_id.clone(),
            driver_id: trip.driver_id.clone(),
            status,
            quote: settings.tariff.quote(distance_m, duration_s, region),
            ts_ms,
        }
    }
}

/// Writes `record` into `{key_prefix}fare:{order_id}` (an upsert on the
/// `version` field: the event time for running records, [`FINAL_VERSION`]
/// otherwise) and renews its expiry.
pub fn store(plan: &mut Plan, settings: &Settings, record: &FareRecord) {
    let key = fare_key(settings, &record.order_id);
    let version = match record.status {
        Status::Running => record.ts_ms,
        Status::Final | Status::Cancelled => FINAL_VERSION,
    };
    plan.writes.push(WriteOp::UpsertNewer(UpsertNewerOp {
        key: key.clone(),
        version_field: "version".to_string(),
        version,
        fields: record_fields(settings, record),
        geo: None,
    }));
    plan.writes.push(WriteOp::Expire((key, settings.fare_ttl_ms)));
}

/// Publishes `record` on `fare_topic`, keyed by order id.
pub fn publish(plan: &mut Plan, settings: &Settings, record: &FareRecord) {
    plan.messages.push(Message::text(
        &settings.fare_topic,
        &record.order_id,
        record_json(settings, record),
    ));
}

/// The kv key of a driver's state: `{key_prefix}fare:trip:{driver_id}`.
pub fn state_key(settings: &Settings, driver_id: &str) -> String {
    format!("{}fare:trip:{driver_id}", settings.key_prefix)
}

/// The kv key of an order's fare: `{key_prefix}fare:{order_id}`.
pub fn fare_key(settings: &Settings, order_id: &str) -> String {
    format!("{}fare:{order_id}", settings.key_prefix)
}

/// Metres as published: rounded to 0.1 m.
fn rounded_distance(quote: &Quote) -> f64 {
    (quote.distance_m * 10.0).round() / 10.0
}

/// Seconds as published: rounded to the millisecond.
fn rounded_duration(quote: &Quote) -> f64 {
    (quote.duration_s * 1000.0).round() / 1000.0
}

fn record_fields(settings: &Settings, record: &FareRecord) -> Vec<FieldValue> {
    vec![
        FieldValue::new("order_id", &record.order_id),
        FieldValue::new("driver_id", &record.driver_id),
        FieldValue::new("status", record.status.as_str()),
        FieldValue::new("distance_m", Decimal(rounded_distance(&record.quote))),
        FieldValue::new("duration_s", Decimal(rounded_duration(&record.quote))),
        FieldValue::new("fare", Decimal(record.quote.fare)),
        FieldValue::new("currency", &settings.tariff.currency),
        FieldValue::new("surge", Decimal(record.quote.surge)),
        FieldValue::new("ts_ms", record.ts_ms),
    ]
}

/// The record as the JSON published on `fare_topic`.
pub fn record_json(settings: &Settings, record: &FareRecord) -> String {
    JsonObject::new()
        .string("order_id", &record.order_id)
        .string("driver_id", &record.driver_id)
        .string("status", record.status.as_str())
        .number("distance_m", rounded_distance(&record.quote))
        .number("duration_s", rounded_duration(&record.quote))
        .number("fare", record.quote.fare)
        .string("currency", &settings.tariff.currency)
        .number("surge", record.quote.surge)
        .integer("ts_ms", record.ts_ms)
        .finish()
}
