//! What the fuzz targets hold every decoder to, beyond not panicking: a
//! value it accepts keeps the documented ranges and reads back the same
//! when written out again, and an error it returns has one of the
//! documented kinds and says something.

use chrono::{DateTime, Datelike, SecondsFormat};
use fleethost_event::EventsConfig;
use fleethost_event::location::{DecodeError, Location};
use fleethost_event::order::{Order, OrderStep};
use serde_json::{Map, Value, json};

/// The decoder's error kinds: the names of the dead-letter headers and of
/// the gateway's error frames (docs/events.md).
pub const DECODE_ERROR_KINDS: [&str; 12] = [
    "empty",
    "not-json",
    "missing-field",
    "invalid-field",
    "out-of-range",
    "no-timestamp",
    "future-timestamp",
    "too-old",
    "bad-framing",
    "unknown-schema",
    "not-avro",
    "not-protobuf",
];

/// Message timestamps each input is decoded against: a real one, the epoch,
/// the extremes (overflow in the bounds' arithmetic) and none (the host's
/// clock is the reference).
pub const MESSAGE_TIMESTAMPS: [Option<i64>; 5] =
    [Some(1_764_000_000_000), Some(0), Some(i64::MIN), Some(i64::MAX), None];

/// The event bounds each input is decoded within: the defaults, tight ones
/// and ones too large for milliseconds.
pub fn bounds_to_try() -> [EventsConfig; 3] {
    [
        EventsConfig::default(),
        EventsConfig {
            max_future_skew_ms: 0,
            max_age_ms: 1_000,
            max_speed_mps: 10.0,
        },
        EventsConfig {
            max_future_skew_ms: u64::MAX,
            max_age_ms: u64::MAX,
            max_speed_mps: f64::MAX,
        },
    ]
}

/// An error names one of the documented kinds and says what was wrong.
pub fn check_error(error: &DecodeError) {
    assert!(
        DECODE_ERROR_KINDS.contains(&error.kind()),
        "undocumented kind {}",
        error.kind()
    );
    assert!(!error.to_string().is_empty(), "an error without a message: {error:?}");
}

/// A decoded fix keeps the documented ranges, and written out as JSON it
/// decodes to itself (with a message timestamp, so no clock is involved).
pub fn check_location(location: &Location, message_timestamp_ms: Option<i64>, bounds: &EventsConfig) {
    assert!(
        !location.driver_id.trim().is_empty(),
        "an empty driver id: {location:?}"
    );
    assert!((-90.0..=90.0).contains(&location.latitude), "{location:?}");
    assert!((-180.0..=180.0).contains(&location.longitude), "{location:?}");
    if let Some(speed) = location.speed {
        assert!((0.0..=bounds.max_speed_mps).contains(&speed), "{location:?}");
    }
    if let Some(heading) = location.heading {
        assert!((0.0..=360.0).contains(&heading), "{location:?}");
    }
    let (Some(at_ms), Some(timestamp)) = (message_timestamp_ms, timestamp_json(location.timestamp_ms)) else {
        return;
    };
    let mut object = Map::new();
    object.insert("driverId".into(), json!(location.driver_id));
    object.insert("lat".into(), json!(location.latitude));
    object.insert("lng".into(), json!(location.longitude));
    object.insert("timestamp".into(), timestamp);
    let optional = [
        ("region", location.region.as_ref().map(|text| json!(text))),
        ("order_id", location.order_id.as_ref().map(|text| json!(text))),
        ("speed", location.speed.map(|speed| json!(speed))),
        ("heading", location.heading.map(|heading| json!(heading))),
    ];
    for (field, value) in optional {
        if let Some(value) = value {
            object.insert(field.into(), value);
        }
    }
    let written = Value::Object(object).to_string();
    let read = Location::decode_within(Some(written.as_bytes()), Some(at_ms), bounds);
    assert_eq!(
        read.as_ref(),
        Ok(location),
        "{written} does not read back as it was written"
    );
}

/// A decoded order event keeps the documented ranges and rules.
pub fn check_order(order: &Order) {
    assert!(!order.order_id.trim().is_empty(), "an empty order id: {order:?}");
    assert!(!order.driver_id.trim().is_empty(), "an empty driver id: {order:?}");
    if order.step == OrderStep::Assigned {
        assert!(
            order.pickup.is_some() && order.dropoff.is_some(),
            "an assignment without both points: {order:?}"
        );
    }
    for (latitude, longitude) in order.pickup.iter().chain(order.dropoff.iter()) {
        assert!((-90.0..=90.0).contains(latitude), "{order:?}");
        assert!((-180.0..=180.0).contains(longitude), "{order:?}");
    }
}

/// An event time as the decoder reads it back exactly: RFC 3339 text for
/// years 0 to 9999, epoch milliseconds beyond them (where they are not
/// mistaken for seconds); `None` where neither spelling exists.
fn timestamp_json(ms: i64) -> Option<Value> {
    let time = DateTime::from_timestamp_millis(ms);
    match time {
        Some(time) if (0..=9999).contains(&time.year()) => {
            Some(json!(time.to_rfc3339_opts(SecondsFormat::Millis, true)))
        }
        _ if ms >= 100_000_000_000 => Some(json!(ms)),
        _ => None,
    }
}
