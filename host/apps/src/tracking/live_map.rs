//! The live map: `GET /map` serves one self-contained page (`map.html`,
//! embedded in the binary: no scripts, fonts or tiles from outside) that
//! polls `GET /api/map` every second and draws the city area, the drivers,
//! their trips and ETAs, and the latest notifications.
//!
//! `GET /api/map` answers
//! `{"area":{"south","north","west","east"},"drivers":[{"id","lat","lng","ts_ms"}…],
//! "etas":[{"order_id","driver_id","phase","eta_s","distance_m"[,"target_lat","target_lng"]}…],
//! "notifications":[…latest 50, newest first…]}`; 503 with `{"error"}` when
//! Redis cannot be read. The area is the simulator's city
//! ([`crate::simulate::CITY`]).
//!
//! `?after=TS_MS` makes it a short long-poll: the answer waits (re-reading
//! Redis every `RECHECK`, at most `MAX_WAIT`) until some driver has a
//! fix newer than `TS_MS`. The page passes the newest `ts_ms` it drew, so it
//! gets a new frame as soon as there is one and never redraws an unchanged
//! one; it also lets a headless browser under a virtual-time budget (whose
//! clock races ahead while no request is pending) see the drivers move.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use super::TrackingShared;
use super::map_snapshot::{MapDriver, MapEta};
use crate::simulate::CITY;

/// The longest an `?after=` request waits for a newer fix.
const MAX_WAIT: Duration = Duration::from_secs(2);
/// How often an `?after=` request re-reads Redis while it waits.
const RECHECK: Duration = Duration::from_millis(200);

/// The page, embedded at build time.
const PAGE: &str = include_str!("map.html");

/// The drawn area, in degrees.
#[derive(Debug, Serialize)]
struct Area {
    south: f64,
    north: f64,
    west: f64,
    east: f64,
}

/// The answer of `/api/map`.
#[derive(Debug, Serialize)]
struct MapData {
    area: Area,
    drivers: Vec<MapDriver>,
    etas: Vec<MapEta>,
    notifications: Vec<Value>,
}

/// `GET /map`: the page.
pub async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        PAGE,
    )
        .into_response()
}

/// The `after` parameter of the query (epoch ms), when given and a number.
fn after_parameter(query: Option<&str>) -> Option<i64> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(name, _)| name == "after")
        .and_then(|(_, value)| value.trim().parse().ok())
}

/// `GET /api/map`: drivers, ETAs and notifications.
pub async fn data(State(shared): State<Arc<TrackingShared>>, uri: Uri) -> Response {
    if let Some(after) = after_parameter(uri.query()) {
        let deadline = tokio::time::Instant::now() + MAX_WAIT;
        loop {
            let newest = match shared.map.drivers().await {
                Ok(drivers) => drivers.iter().map(|driver| driver.ts_ms).max(),
                Err(_) => break,
            };
            if newest.is_some_and(|newest| newest > after)
                || tokio::time::Instant::now() + RECHECK > deadline
                || shared.shutdown.is_cancelled()
            {
                break;
            }
            tokio::time::sleep(RECHECK).await;
        }
    }
    let (drivers, etas) = tokio::join!(shared.map.drivers(), shared.map.etas());
    let (drivers, etas) = match (drivers, etas) {
        (Ok(drivers), Ok(etas)) => (drivers, etas),
        (Err(error), _) | (_, Err(error)) => {
            let message = format!("cannot read the map from Redis: {error}");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "error": message })),
            )
                .into_response();
        }
    };
    let data = MapData {
        area: Area {
            south: CITY.south,
            north: CITY.north,
            west: CITY.west,
            east: CITY.east,
        },
        drivers,
        etas,
        notifications: shared.notifications.latest(),
    };
    ([(header::CACHE_CONTROL, "no-store")], Json(data)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_is_read_from_the_query() {
        assert_eq!(after_parameter(Some("after=1700000000000")), Some(1_700_000_000_000));
        assert_eq!(after_parameter(Some("x=1&after=5")), Some(5));
        assert_eq!(after_parameter(Some("after=soon")), None);
        assert_eq!(after_parameter(None), None);
    }
}
