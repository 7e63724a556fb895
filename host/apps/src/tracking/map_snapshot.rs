//! What the live map shows, read from Redis (or the embedded store) for `GET /api/map`: every
//! driver's newest position and the orders' current ETAs.
//!
//! - Drivers: the members of live-location's GEO set (`geo_key`, at most
//!   [`MAX_DRIVERS`]), then their hashes `{key_prefix}driver:{id}` (`lat`,
//!   `lng`, `ts_ms`) in one round trip.
//! - ETAs: the hashes `{key_prefix}eta:{order_id}` found by `SCAN` (the eta
//!   plugin's own `{key_prefix}eta:trip:{driver_id}` state excluded; at most
//!   [`MAX_ETAS`]) read in one pipeline, then the target of each (the
//!   pickup before it, the drop-off after) from that driver's trip state in
//!   one more pipeline.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

use fleethost_record::names;

use super::live_keys::LiveKeys;
use super::live_store::{LiveSource, LiveStore};

/// The most drivers one answer holds.
pub const MAX_DRIVERS: usize = 20_000;
/// The most ETAs one answer holds.
pub const MAX_ETAS: usize = 5_000;
/// How long one Redis command (or pipeline) may take.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// A driver on the map.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapDriver {
    pub id: String,
    pub lat: f64,
    pub lng: f64,
    pub ts_ms: i64,
}

/// An order's current ETA, and where its driver is heading when known.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapEta {
    pub order_id: String,
    pub driver_id: String,
    pub phase: String,
    pub eta_s: Option<f64>,
    pub distance_m: Option<f64>,
    /// The pickup (phase `to_pickup`) or the drop-off, from the eta plugin's
    /// trip state; absent when that state is gone or names another order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_lng: Option<f64>,
}

/// Reads the map's data from the store the plugins write to.
#[derive(Clone)]
pub struct MapReader {
    store: LiveStore,
    keys: LiveKeys,
}

impl MapReader {
    /// A reader for the keys `keys` names in `source`, connecting lazily to
    /// Redis.
    pub fn connect_lazy(source: &LiveSource, keys: &LiveKeys) -> redis::RedisResult<Self> {
        Ok(Self {
            store: LiveStore::connect_lazy(source, READ_TIMEOUT)?,
            keys: keys.clone(),
        })
    }

    /// Every driver with a position (at most [`MAX_DRIVERS`]).
    pub async fn drivers(&self) -> redis::RedisResult<Vec<MapDriver>> {
        let ids = self.store.geo_members(&self.keys.geo_set(), MAX_DRIVERS).await?;
        let keys: Vec<String> = ids.iter().map(|id| self.keys.driver_key(id)).collect();
        let hashes = self.store.hashes(&keys).await?;
        Ok(ids
            .into_iter()
            .zip(hashes)
            .filter_map(|(id, fields)| {
                Some(MapDriver {
                    id,
                    lat: number(fields.get(names::POSITION_LAT).map(String::as_str))?,
                    lng: number(fields.get(names::POSITION_LNG).map(String::as_str))?,
                    ts_ms: fields.get(names::POSITION_TS_MS)?.trim().parse().ok()?,
                })
            })
            .collect())
    }

    /// The orders' current ETAs (at most [`MAX_ETAS`]), with their targets.
    pub async fn etas(&self) -> redis::RedisResult<Vec<MapEta>> {
        let keys = self
            .store
            .keys_with_prefix(&self.keys.eta_key_prefix(), &self.keys.eta_trip_key_prefix(), MAX_ETAS)
            .await?;
        let hashes = self.store.hashes(&keys).await?;
        let mut etas: Vec<MapEta> = hashes.iter().filter_map(eta_from_fields).collect();
        if etas.is_empty() {
            return Ok(etas);
        }
        let trip_keys: Vec<String> = etas.iter().map(|eta| self.keys.eta_trip_key(&eta.driver_id)).collect();
        let trips = self.store.hashes(&trip_keys).await?;
        for (eta, trip) in etas.iter_mut().zip(trips) {
            if let Some((lat, lng)) = target(eta, &trip) {
                eta.target_lat = Some(lat);
                eta.target_lng = Some(lng);
            }
        }
        Ok(etas)
    }
}

/// The point `eta`'s driver is heading for, from its trip state (the eta
/// plugin's `trip` record, or the `trip_*` fields of earlier plugin
/// versions), when that trip is `eta`'s order.
fn target(eta: &MapEta, hash: &HashMap<String, String>) -> Option<(f64, f64)> {
    let record: HashMap<&str, Cow<'_, str>> = hash
        .get("trip")
        .map(|record| fleethost_record::decode(record).collect())
        .unwrap_or_default();
    let get = |name: &str| {
        record
            .get(name)
            .map(|value| value.as_ref())
            .or_else(|| hash.get(name).map(String::as_str))
    };
    if get("trip_order_id")?.trim() != eta.order_id {
        return None;
    }
    let (lat, lng) = if eta.phase == "to_pickup" {
        ("trip_pickup_lat", "trip_pickup_lng")
    } else {
        ("trip_dropoff_lat", "trip_dropoff_lng")
    };
    Some((number(get(lat))?, number(get(lng))?))
}

/// An ETA from its hash; `None` when the hash lacks the order or driver.
fn eta_from_fields(fields: &HashMap<String, String>) -> Option<MapEta> {
    let text = |name: &str| fields.get(name).map(|value| value.trim().to_string());
    Some(MapEta {
        order_id: text("order_id").filter(|id| !id.is_empty())?,
        driver_id: text("driver_id").filter(|id| !id.is_empty())?,
        phase: text("phase").unwrap_or_default(),
        eta_s: number(fields.get("eta_s").map(String::as_str)),
        distance_m: number(fields.get("distance_m").map(String::as_str)),
        target_lat: None,
        target_lng: None,
    })
}

/// A finite number from a field's text.
fn number(text: Option<&str>) -> Option<f64> {
    text?.trim().parse::<f64>().ok().filter(|value| value.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn an_eta_hash_and_its_trip_give_the_target() {
        let mut eta = eta_from_fields(&fields(&[
            ("order_id", "o1"),
            ("driver_id", "d1"),
            ("phase", "to_dropoff"),
            ("eta_s", "120.5"),
            ("distance_m", "900"),
        ]))
        .expect("an eta");
        assert_eq!((eta.eta_s, eta.distance_m), (Some(120.5), Some(900.0)));
        let trip = fields(&[
            ("trip_order_id", "o1"),
            ("trip_pickup_lat", "1"),
            ("trip_pickup_lng", "2"),
            ("trip_dropoff_lat", "3"),
            ("trip_dropoff_lng", "4"),
        ]);
        assert_eq!(target(&eta, &trip), Some((3.0, 4.0)));
        eta.phase = "to_pickup".into();
        assert_eq!(target(&eta, &trip), Some((1.0, 2.0)));
        eta.order_id = "o2".into();
        assert_eq!(target(&eta, &trip), None, "the trip is another order's");
        assert_eq!(eta_from_fields(&fields(&[("order_id", "o1")])), None);
        // The eta plugin's trip record; it wins over stale one-per-value fields.
        let record = fleethost_record::encode([
            ("trip_order_id", "o2"),
            ("trip_pickup_lat", "5"),
            ("trip_pickup_lng", "6"),
            ("trip_dropoff_lat", "7"),
            ("trip_dropoff_lng", "8"),
        ]);
        let mut hash = trip.clone();
        hash.insert("trip".into(), record);
        assert_eq!(target(&eta, &hash), Some((5.0, 6.0)));
    }
}
