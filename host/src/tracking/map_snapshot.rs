//! What the live map shows, read from Redis for `GET /api/map`: every
//! driver's newest position and the orders' current ETAs.
//!
//! - Drivers: the members of the GEO set `{key_prefix}drivers:geo` (at most
//!   [`MAX_DRIVERS`]), then their hashes `{key_prefix}driver:{id}` (`lat`,
//!   `lng`, `ts_ms`) in one pipelined round trip.
//! - ETAs: the hashes `{key_prefix}eta:{order_id}` found by `SCAN` (the eta
//!   plugin's own `{key_prefix}eta:trip:{driver_id}` state excluded; at most
//!   [`MAX_ETAS`]) read in one pipeline, then the target of each (the
//!   pickup before it, the drop-off after) from that driver's trip state in
//!   one more pipeline.

use std::collections::HashMap;
use std::time::Duration;

use redis::aio::ConnectionManager;
use serde::Serialize;

/// The most drivers one answer holds.
pub const MAX_DRIVERS: isize = 20_000;
/// The most ETAs one answer holds.
pub const MAX_ETAS: usize = 500;
/// Keys asked per `SCAN` step.
const SCAN_COUNT: usize = 1_000;
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

/// Reads the map's data; clones share one connection, which reconnects on
/// its own.
#[derive(Clone)]
pub struct MapReader {
    connection: ConnectionManager,
    key_prefix: String,
}

impl MapReader {
    /// A reader for the keys under `key_prefix`, connecting lazily.
    pub fn connect_lazy(client: &redis::Client, key_prefix: &str) -> redis::RedisResult<Self> {
        Ok(Self {
            connection: super::snapshot::lazy_connection(client, READ_TIMEOUT)?,
            key_prefix: key_prefix.to_string(),
        })
    }

    /// Every driver with a position (at most [`MAX_DRIVERS`]).
    pub async fn drivers(&self) -> redis::RedisResult<Vec<MapDriver>> {
        let mut connection = self.connection.clone();
        let ids: Vec<String> = redis::cmd("ZRANGE")
            .arg(format!("{}drivers:geo", self.key_prefix))
            .arg(0)
            .arg(MAX_DRIVERS - 1)
            .query_async(&mut connection)
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipeline = redis::pipe();
        for id in &ids {
            pipeline
                .cmd("HMGET")
                .arg(format!("{}driver:{id}", self.key_prefix))
                .arg(&["lat", "lng", "ts_ms"][..]);
        }
        let rows: Vec<(Option<String>, Option<String>, Option<String>)> = pipeline.query_async(&mut connection).await?;
        Ok(ids
            .into_iter()
            .zip(rows)
            .filter_map(|(id, (lat, lng, ts_ms))| {
                Some(MapDriver {
                    id,
                    lat: number(lat.as_deref())?,
                    lng: number(lng.as_deref())?,
                    ts_ms: ts_ms.as_deref()?.trim().parse().ok()?,
                })
            })
            .collect())
    }

    /// The orders' current ETAs (at most [`MAX_ETAS`]), with their targets.
    pub async fn etas(&self) -> redis::RedisResult<Vec<MapEta>> {
        let mut connection = self.connection.clone();
        let keys = self.eta_keys(&mut connection).await?;
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipeline = redis::pipe();
        for key in &keys {
            pipeline.cmd("HGETALL").arg(key);
        }
        let hashes: Vec<HashMap<String, String>> = pipeline.query_async(&mut connection).await?;
        let mut etas: Vec<MapEta> = hashes.iter().filter_map(eta_from_fields).collect();
        if etas.is_empty() {
            return Ok(etas);
        }
        let mut pipeline = redis::pipe();
        for eta in &etas {
            pipeline
                .cmd("HMGET")
                .arg(format!("{}eta:trip:{}", self.key_prefix, eta.driver_id))
                .arg(&TRIP_FIELDS[..]);
        }
        let trips: Vec<Vec<Option<String>>> = pipeline.query_async(&mut connection).await?;
        for (eta, trip) in etas.iter_mut().zip(trips) {
            if let Some((lat, lng)) = target(eta, &trip) {
                eta.target_lat = Some(lat);
                eta.target_lng = Some(lng);
            }
        }
        Ok(etas)
    }

    /// The keys `{key_prefix}eta:{order_id}`, without the trip states.
    async fn eta_keys(&self, connection: &mut ConnectionManager) -> redis::RedisResult<Vec<String>> {
        let pattern = format!("{}eta:*", glob_escape(&self.key_prefix));
        let trip_prefix = format!("{}eta:trip:", self.key_prefix);
        let mut keys = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT)
                .query_async(connection)
                .await?;
            keys.extend(batch.into_iter().filter(|key| !key.starts_with(&trip_prefix)));
            if next == 0 || keys.len() >= MAX_ETAS {
                keys.truncate(MAX_ETAS);
                return Ok(keys);
            }
            cursor = next;
        }
    }
}

/// The trip state's fields the target is read from.
const TRIP_FIELDS: [&str; 5] = [
    "trip_order_id",
    "trip_pickup_lat",
    "trip_pickup_lng",
    "trip_dropoff_lat",
    "trip_dropoff_lng",
];

/// The point `eta`'s driver is heading for, from its trip state's
/// [`TRIP_FIELDS`], when that trip is `eta`'s order.
fn target(eta: &MapEta, trip: &[Option<String>]) -> Option<(f64, f64)> {
    let field = |index: usize| trip.get(index).and_then(|value| value.as_deref());
    if field(0)? != eta.order_id {
        return None;
    }
    let (lat, lng) = if eta.phase == "to_pickup" { (1, 2) } else { (3, 4) };
    Some((number(field(lat))?, number(field(lng))?))
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

/// `text` with Redis glob characters escaped, for a `SCAN MATCH` pattern.
fn glob_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(character, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
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
        let trip: Vec<Option<String>> = ["o1", "1", "2", "3", "4"].iter().map(|v| Some(v.to_string())).collect();
        assert_eq!(target(&eta, &trip), Some((3.0, 4.0)));
        eta.phase = "to_pickup".into();
        assert_eq!(target(&eta, &trip), Some((1.0, 2.0)));
        eta.order_id = "o2".into();
        assert_eq!(target(&eta, &trip), None, "the trip is another order's");
        assert_eq!(eta_from_fields(&fields(&[("order_id", "o1")])), None);
    }

    #[test]
    fn glob_characters_are_escaped() {
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
