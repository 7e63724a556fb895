//! Unit tests of `location.rs`.

use super::*;

fn decode(json: &str) -> Result<Location, DecodeError> {
    Location::decode(Some(json.as_bytes()), Some(1_700_000_000_000))
}

#[test]
fn every_driver_id_spelling_is_accepted() {
    for field in DRIVER_ID_FIELDS {
        let location = decode(&format!(r#"{{"{field}": "d1", "lat": 1, "lng": 2}}"#)).unwrap();
        assert_eq!(location.driver_id, "d1", "{field}");
    }
}

#[test]
fn coordinates_decode_to_the_exact_double_that_was_sent() {
    // Without serde_json's float_roundtrip these decode one ULP off.
    let location = decode(r#"{"driverId": "d", "lat": 12.980856122922633, "lng": 77.56893574084948}"#).unwrap();
    assert_eq!(location.latitude.to_string(), "12.980856122922633");
    assert_eq!(location.longitude.to_string(), "77.56893574084948");
}

#[test]
fn numeric_driver_id_becomes_text() {
    assert_eq!(
        decode(r#"{"rider_id": 42, "lat": 1, "lng": 2}"#).unwrap().driver_id,
        "42"
    );
}

#[test]
fn every_coordinate_spelling_is_accepted() {
    for lat in LATITUDE_FIELDS {
        for lng in LONGITUDE_FIELDS {
            let location = decode(&format!(r#"{{"driverId": "d", "{lat}": 12.5, "{lng}": 77.25}}"#)).unwrap();
            assert_eq!((location.latitude, location.longitude), (12.5, 77.25), "{lat}/{lng}");
        }
    }
}

#[test]
fn timestamps_in_rfc3339_seconds_and_millis() {
    let rfc = decode(r#"{"driverId": "d", "lat": 1, "lng": 2, "timestamp": "2023-11-14T22:13:20Z"}"#).unwrap();
    let secs = decode(r#"{"driverId": "d", "lat": 1, "lng": 2, "timestamp": 1700000000}"#).unwrap();
    let millis = decode(r#"{"driverId": "d", "lat": 1, "lng": 2, "timestamp": 1700000000000}"#).unwrap();
    assert_eq!(rfc.timestamp_ms, 1_700_000_000_000);
    assert_eq!(secs.timestamp_ms, 1_700_000_000_000);
    assert_eq!(millis.timestamp_ms, 1_700_000_000_000);
}

#[test]
fn missing_timestamp_uses_the_kafka_timestamp() {
    let location = Location::decode(Some(br#"{"driverId": "d", "lat": 1, "lng": 2}"#), Some(1234)).unwrap();
    assert_eq!(location.timestamp_ms, 1234);
    let error = Location::decode(Some(br#"{"driverId": "d", "lat": 1, "lng": 2}"#), None).unwrap_err();
    assert_eq!(error, DecodeError::NoTimestamp);
}

#[test]
fn a_kafka_timestamp_that_is_not_a_time_is_no_event_time() {
    // Found by the location_decoder fuzz target: taken as the event time,
    // i64::MAX would pin the driver, and written out it would be refused.
    let fix = br#"{"driverId": "d", "lat": 1, "lng": 2}"#;
    for message_ms in [i64::MAX, i64::MIN, -2] {
        let error = Location::decode(Some(fix), Some(message_ms)).unwrap_err();
        assert_eq!(error.kind(), "invalid-field", "{message_ms}");
        assert!(
            error
                .to_string()
                .contains(&format!("Kafka message timestamp {message_ms}")),
            "{error}"
        );
    }
}

#[test]
fn optional_fields_are_read() {
    let location = decode(
        r#"{"driverId": "d", "lat": 1, "lng": 2, "state": "south", "order_id": "o9", "speed": 8.5, "heading": 90}"#,
    )
    .unwrap();
    assert_eq!(location.region.as_deref(), Some("south"));
    assert_eq!(location.order_id.as_deref(), Some("o9"));
    assert_eq!(location.speed, Some(8.5));
    assert_eq!(location.heading, Some(90.0));
}

#[test]
fn out_of_range_coordinates_are_refused_with_the_field() {
    let error = decode(r#"{"driverId": "d", "lat": 91, "lng": 2}"#).unwrap_err();
    assert_eq!(error.kind(), "out-of-range");
    assert!(error.to_string().contains("`lat` = 91"), "{error}");
    let error = decode(r#"{"driverId": "d", "lat": 1, "longitude": -180.5}"#).unwrap_err();
    assert!(error.to_string().contains("`longitude` = -180.5"), "{error}");
}

/// The message timestamp of the bound tests: 2023-11-14T22:13:20Z.
const MESSAGE_MS: i64 = 1_700_000_000_000;

fn fix_at(timestamp_ms: i64) -> String {
    format!(r#"{{"driverId": "d", "lat": 1, "lng": 2, "timestamp": {timestamp_ms}}}"#)
}

fn decode_within(
    json: &str,
    message_timestamp_ms: Option<i64>,
    bounds: &EventsConfig,
) -> Result<Location, DecodeError> {
    Location::decode_within(Some(json.as_bytes()), message_timestamp_ms, bounds)
}

#[test]
fn a_fix_at_the_future_skew_limit_is_accepted_and_past_it_refused() {
    let bounds = EventsConfig::default();
    let at_limit = MESSAGE_MS + 300_000;
    let location = decode_within(&fix_at(at_limit), Some(MESSAGE_MS), &bounds).unwrap();
    assert_eq!(location.timestamp_ms, at_limit);
    let error = decode_within(&fix_at(at_limit + 1), Some(MESSAGE_MS), &bounds).unwrap_err();
    assert_eq!(error.kind(), "future-timestamp");
    assert_eq!(
        error.to_string(),
        "field `timestamp` = 2023-11-14T22:18:20.001Z is 300001 ms (5.0 minutes) ahead of \
         the message timestamp 2023-11-14T22:13:20Z; the limit is 300000 ms (pipelines[].events.max_future_skew_ms)"
    );
}

#[test]
fn a_fix_years_ahead_is_refused_naming_its_time_the_message_time_and_the_limit() {
    let bounds = EventsConfig {
        max_future_skew_ms: 60_000,
        ..EventsConfig::default()
    };
    let json = r#"{"driverId": "d", "lat": 1, "lng": 2, "timestamp": "2033-11-14T22:13:20Z"}"#;
    let error = decode_within(json, Some(MESSAGE_MS), &bounds).unwrap_err();
    assert_eq!(error.kind(), "future-timestamp");
    assert_eq!(
        error.to_string(),
        "field `timestamp` = 2033-11-14T22:13:20Z is 315619200000 ms (3653.0 days) ahead of \
         the message timestamp 2023-11-14T22:13:20Z; the limit is 60000 ms (pipelines[].events.max_future_skew_ms)"
    );
    // The plain decoder holds fixes to the default bounds too.
    let error = Location::decode(Some(json.as_bytes()), Some(MESSAGE_MS)).unwrap_err();
    assert_eq!(error.kind(), "future-timestamp");
    assert!(error.to_string().contains("the limit is 300000 ms"), "{error}");
}

#[test]
fn without_a_message_timestamp_the_fix_is_held_to_the_host_clock() {
    let bounds = EventsConfig::default();
    let now = host_clock_ms();
    let location = decode_within(&fix_at(now + 60_000), None, &bounds).unwrap();
    assert_eq!(location.timestamp_ms, now + 60_000);
    let error = decode_within(&fix_at(now + 3_600_000), None, &bounds).unwrap_err();
    assert_eq!(error.kind(), "future-timestamp");
    assert!(error.to_string().contains("ahead of the host's clock"), "{error}");
    assert!(error.to_string().contains("(the message has no timestamp)"), "{error}");
}

#[test]
fn a_fix_without_a_timestamp_takes_the_message_time_and_is_never_out_of_bounds() {
    let bounds = EventsConfig {
        max_future_skew_ms: 0,
        max_age_ms: 1,
        ..EventsConfig::default()
    };
    let location = decode_within(r#"{"driverId": "d", "lat": 1, "lng": 2}"#, Some(MESSAGE_MS), &bounds).unwrap();
    assert_eq!(location.timestamp_ms, MESSAGE_MS);
}

#[test]
fn the_maximum_age_is_off_by_default_and_refuses_older_fixes_when_set() {
    let old = MESSAGE_MS - 3 * 86_400_000;
    let location = decode_within(&fix_at(old), Some(MESSAGE_MS), &EventsConfig::default()).unwrap();
    assert_eq!(location.timestamp_ms, old);

    let bounds = EventsConfig {
        max_age_ms: 86_400_000,
        ..EventsConfig::default()
    };
    let at_limit = MESSAGE_MS - 86_400_000;
    assert_eq!(
        decode_within(&fix_at(at_limit), Some(MESSAGE_MS), &bounds)
            .unwrap()
            .timestamp_ms,
        at_limit
    );
    let error = decode_within(&fix_at(at_limit - 1), Some(MESSAGE_MS), &bounds).unwrap_err();
    assert_eq!(error.kind(), "too-old");
    assert_eq!(
        error.to_string(),
        "field `timestamp` = 2023-11-13T22:13:19.999Z is 86400001 ms (24.0 hours) behind \
         the message timestamp 2023-11-14T22:13:20Z; the limit is 86400000 ms (pipelines[].events.max_age_ms)"
    );
    let error = decode_within(&fix_at(old), Some(MESSAGE_MS), &bounds).unwrap_err();
    assert!(error.to_string().contains("(3.0 days) behind"), "{error}");
}

#[test]
fn speed_is_held_within_zero_and_the_configured_maximum() {
    let with_speed = |speed: &str| format!(r#"{{"driverId": "d", "lat": 1, "lng": 2, "speed": {speed}}}"#);
    let bounds = EventsConfig {
        max_speed_mps: 40.0,
        ..EventsConfig::default()
    };
    for speed in ["0", "40", "12.5"] {
        let location = decode_within(&with_speed(speed), Some(MESSAGE_MS), &bounds).unwrap();
        assert_eq!(location.speed, Some(speed.parse().unwrap()), "{speed}");
    }
    let unknown = decode_within(&with_speed("-1"), Some(MESSAGE_MS), &bounds).unwrap();
    assert_eq!(unknown.speed, None, "a negative speed is unknown, the fix kept");
    let error = decode_within(&with_speed("40.01"), Some(MESSAGE_MS), &bounds).unwrap_err();
    assert_eq!(error.kind(), "out-of-range");
    assert_eq!(error.to_string(), "field `speed` = 40.01 is out of range [0, 40]");
    let error = decode(&with_speed("150")).unwrap_err();
    assert_eq!(error.to_string(), "field `speed` = 150 is out of range [0, 100]");
    let error = decode(&with_speed("\"NaN\"")).unwrap_err();
    assert_eq!(error.kind(), "invalid-field", "a speed that is not finite: {error}");
}

#[test]
fn heading_is_held_within_0_and_360() {
    let with_heading = |heading: &str| format!(r#"{{"driverId": "d", "lat": 1, "lng": 2, "heading": {heading}}}"#);
    for heading in ["0", "359.9", "360"] {
        assert_eq!(
            decode(&with_heading(heading)).unwrap().heading,
            Some(heading.parse().unwrap())
        );
    }
    assert_eq!(decode(&with_heading("-1")).unwrap().heading, None, "unknown");
    for heading in ["360.5", "720"] {
        let error = decode(&with_heading(heading)).unwrap_err();
        assert_eq!(error.kind(), "out-of-range", "{heading}");
        assert_eq!(
            error.to_string(),
            format!("field `heading` = {heading} is out of range [0, 360]")
        );
    }
}

#[test]
fn malformed_messages_are_refused_with_a_reason() {
    assert_eq!(Location::decode(None, None).unwrap_err().kind(), "empty");
    assert_eq!(decode("not json").unwrap_err().kind(), "not-json");
    assert_eq!(decode("[1, 2]").unwrap_err().kind(), "not-json");
    let error = decode(r#"{"lat": 1, "lng": 2}"#).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("driverId, driver_id, delivery_id, car_id, rider_id"),
        "{error}"
    );
    assert_eq!(
        decode(r#"{"driverId": "d", "lng": 2}"#).unwrap_err().kind(),
        "missing-field"
    );
    assert_eq!(
        decode(r#"{"driverId": "", "lat": 1, "lng": 2}"#).unwrap_err().kind(),
        "invalid-field"
    );
    assert_eq!(
        decode(r#"{"driverId": "d", "lat": "north", "lng": 2}"#)
            .unwrap_err()
            .kind(),
        "invalid-field"
    );
    assert_eq!(
        decode(r#"{"driverId": "d", "lat": 1, "lng": 2, "timestamp": "yesterday"}"#)
            .unwrap_err()
            .kind(),
        "invalid-field"
    );
}
