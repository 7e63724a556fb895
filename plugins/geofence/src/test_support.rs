//! Builders shared by the unit tests: fixes at a given distance and bearing
//! from a point, order events, batches and a map standing in for kv.

use std::collections::HashMap;

use fleethost_plugin_sdk::geo::destination;
use fleethost_plugin_sdk::kv::FieldValue;
use fleethost_plugin_sdk::{Batch, Event, OrderEvent, OrderKind, PluginConfig, Point};

use crate::batch::{self, Outcome};
use crate::notification::{Kind, Notification};
use crate::settings::Settings;

/// Where the test fences and orders lie (Bengaluru).
pub const CENTRE: (f64, f64) = (12.97, 77.59);

/// The point `metres` from `(lat, lng)` towards `bearing` degrees, as `(lat, lng)`.
pub fn offset(from: (f64, f64), bearing: f64, metres: f64) -> (f64, f64) {
    let from = Point {
        latitude: from.0,
        longitude: from.1,
    };
    let to = destination(from, bearing, metres);
    (to.latitude, to.longitude)
}

/// A fix of `driver` at `at` (also its offset).
pub fn fix(driver: &str, at: i64, (latitude, longitude): (f64, f64)) -> Event {
    Event {
        driver_id: driver.into(),
        latitude,
        longitude,
        timestamp_ms: at,
        region: None,
        order_id: None,
        speed: None,
        heading: None,
        offset: at,
    }
}

/// An order event; pickup and drop-off are set on every kind.
pub fn order(
    kind: OrderKind,
    driver: &str,
    order: &str,
    at: i64,
    pickup: (f64, f64),
    dropoff: (f64, f64),
) -> OrderEvent {
    let point = |(latitude, longitude): (f64, f64)| Some(Point { latitude, longitude });
    OrderEvent {
        order_id: order.into(),
        driver_id: driver.into(),
        kind,
        pickup: point(pickup),
        dropoff: point(dropoff),
        timestamp_ms: at,
        offset: at,
    }
}

/// A batch of fixes or of order events.
pub fn batch(events: Vec<Event>, orders: Vec<OrderEvent>) -> Batch {
    Batch {
        pipeline: "test".into(),
        topic: if orders.is_empty() {
            "rider-updates"
        } else {
            "order-events"
        }
        .into(),
        partition: 0,
        events,
        orders,
    }
}

/// Settings from config pairs.
pub fn settings(pairs: &[(&str, &str)]) -> Settings {
    Settings::from_config(&PluginConfig::from_pairs(pairs)).expect("valid test config")
}

/// The kv hashes, as the store would hold them.
#[derive(Debug, Default, Clone)]
pub struct Store {
    pub hashes: HashMap<String, Vec<FieldValue>>,
}

impl Store {
    /// Runs a batch as `process-batch` does: read, plan, write.
    pub fn run(&mut self, settings: &Settings, batch: &Batch) -> Outcome {
        let outcome = self.plan(settings, batch);
        self.write(&outcome);
        outcome
    }

    /// The read and the plan of a batch, without its writes (two batches
    /// that read the same hashes before either writes: workers racing).
    pub fn plan(&self, settings: &Settings, batch: &Batch) -> Outcome {
        let groups = batch::group_by_driver(batch);
        let hashes: Vec<Vec<FieldValue>> = groups
            .iter()
            .map(|group| {
                self.hashes
                    .get(&settings.state_key(group.driver_id))
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        batch::plan(settings, &groups, &hashes)
    }

    /// The writes of an outcome, as `HSET` applies them.
    pub fn write(&mut self, outcome: &Outcome) {
        for write in &outcome.writes {
            let hash = self.hashes.entry(write.key.clone()).or_default();
            for field in &write.fields {
                match hash.iter_mut().find(|stored| stored.field == field.field) {
                    Some(stored) => stored.value = field.value.clone(),
                    None => hash.push(field.clone()),
                }
            }
        }
    }
}

/// The notifications' kinds, in order.
pub fn kinds(notifications: &[Notification]) -> Vec<Kind> {
    notifications.iter().map(|notification| notification.kind).collect()
}
