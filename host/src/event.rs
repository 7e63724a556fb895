//! The location event: decoding and validation of one Kafka message.
//!
//! The decoder accepts the field spellings of the seed systems (DESIGN.md,
//! "Input events"). Anything that is not a usable location is a
//! [`DecodeError`] that names what was wrong; the pipeline sends such messages
//! to the dead-letter topic with that reason.

use chrono::DateTime;
use serde_json::{Map, Value};

/// Field names accepted for the driver id, in order of preference.
pub const DRIVER_ID_FIELDS: [&str; 5] = ["driverId", "driver_id", "delivery_id", "car_id", "rider_id"];
/// Field names accepted for the latitude.
pub const LATITUDE_FIELDS: [&str; 2] = ["latitude", "lat"];
/// Field names accepted for the longitude.
pub const LONGITUDE_FIELDS: [&str; 3] = ["longitude", "lng", "lon"];

/// Epoch values below this are seconds, at or above it milliseconds
/// (10^11 seconds is the year 5138; 10^11 milliseconds is 1973).
const EPOCH_MILLIS_THRESHOLD: f64 = 1e11;

/// One validated GPS fix.
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    /// Driver id as text, whatever its JSON type was.
    pub driver_id: String,
    /// Latitude in degrees, within [-90, 90].
    pub latitude: f64,
    /// Longitude in degrees, within [-180, 180].
    pub longitude: f64,
    /// Event time in ms since the epoch (the message timestamp when absent).
    pub timestamp_ms: i64,
    /// `state` or `region`, when present.
    pub region: Option<String>,
    /// `order_id`, when present.
    pub order_id: Option<String>,
    /// `speed`, when present.
    pub speed: Option<f64>,
    /// `heading`, when present.
    pub heading: Option<f64>,
}

/// Why a message is not a location.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// The message has no payload at all.
    #[error("empty message: no payload")]
    Empty,
    /// The payload is not a JSON object.
    #[error("not a JSON object: {0}")]
    NotJson(String),
    /// A required field is absent.
    #[error("missing {what}: expected one of {fields}")]
    Missing { what: &'static str, fields: String },
    /// A field has a type or text that cannot be used.
    #[error("field `{field}` is invalid: {message}")]
    Invalid { field: String, message: String },
    /// A coordinate is outside its range.
    #[error("field `{field}` = {value} is out of range [{min}, {max}]")]
    OutOfRange {
        field: String,
        value: f64,
        min: f64,
        max: f64,
    },
    /// No timestamp in the message and none from Kafka either.
    #[error("no `timestamp` field and no Kafka message timestamp")]
    NoTimestamp,
}

impl DecodeError {
    /// A short machine-readable name of the error, for dead-letter headers and
    /// metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::Empty => "empty",
            DecodeError::NotJson(_) => "not-json",
            DecodeError::Missing { .. } => "missing-field",
            DecodeError::Invalid { .. } => "invalid-field",
            DecodeError::OutOfRange { .. } => "out-of-range",
            DecodeError::NoTimestamp => "no-timestamp",
        }
    }
}

impl Location {
    /// Decodes one message payload. `message_timestamp_ms` is the Kafka message
    /// timestamp, used when the payload carries no `timestamp`.
    pub fn decode(payload: Option<&[u8]>, message_timestamp_ms: Option<i64>) -> Result<Self, DecodeError> {
        let payload = payload.filter(|bytes| !bytes.is_empty()).ok_or(DecodeError::Empty)?;
        let object: Map<String, Value> =
            serde_json::from_slice(payload).map_err(|error| DecodeError::NotJson(error.to_string()))?;

        let driver_id = required_id(&object, &DRIVER_ID_FIELDS, "driver id")?;

        let latitude = coordinate(&object, &LATITUDE_FIELDS, "latitude", 90.0)?;
        let longitude = coordinate(&object, &LONGITUDE_FIELDS, "longitude", 180.0)?;

        let timestamp_ms = match object.get("timestamp") {
            None | Some(Value::Null) => message_timestamp_ms.ok_or(DecodeError::NoTimestamp)?,
            Some(value) => timestamp(value)?,
        };

        Ok(Location {
            driver_id,
            latitude,
            longitude,
            timestamp_ms,
            region: optional_text(&object, &["state", "region"])?,
            order_id: optional_text(&object, &["order_id"])?,
            speed: optional_number(&object, "speed")?,
            heading: optional_number(&object, "heading")?,
        })
    }
}

pub(crate) fn first_present<'a>(
    object: &'a Map<String, Value>,
    fields: &[&'static str],
) -> Option<(&'static str, &'a Value)> {
    fields.iter().find_map(|field| {
        object
            .get(*field)
            .filter(|value| !value.is_null())
            .map(|value| (*field, value))
    })
}

/// An id (driver, order) under one of `fields`: non-empty text or a number.
pub(crate) fn required_id(
    object: &Map<String, Value>,
    fields: &[&'static str],
    what: &'static str,
) -> Result<String, DecodeError> {
    let (field, value) = first_present(object, fields).ok_or_else(|| missing(what, fields))?;
    match value {
        Value::String(text) if !text.trim().is_empty() => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        _ => Err(invalid(field, "must be a non-empty string or a number")),
    }
}

pub(crate) fn missing(what: &'static str, fields: &[&str]) -> DecodeError {
    DecodeError::Missing {
        what,
        fields: fields.join(", "),
    }
}

pub(crate) fn invalid(field: &str, message: impl Into<String>) -> DecodeError {
    DecodeError::Invalid {
        field: field.to_string(),
        message: message.into(),
    }
}

/// A finite number, from a JSON number or a numeric string.
pub(crate) fn number(field: &str, value: &Value) -> Result<f64, DecodeError> {
    let parsed = match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    };
    parsed
        .filter(|number| number.is_finite())
        .ok_or_else(|| invalid(field, format!("expected a number, got {value}")))
}

pub(crate) fn coordinate(
    object: &Map<String, Value>,
    fields: &[&'static str],
    what: &'static str,
    limit: f64,
) -> Result<f64, DecodeError> {
    let (field, value) = first_present(object, fields).ok_or_else(|| missing(what, fields))?;
    let value = number(field, value)?;
    if !(-limit..=limit).contains(&value) {
        return Err(DecodeError::OutOfRange {
            field: field.to_string(),
            value,
            min: -limit,
            max: limit,
        });
    }
    Ok(value)
}

/// RFC 3339 text, epoch seconds or epoch milliseconds (as number or digits).
pub(crate) fn timestamp(value: &Value) -> Result<i64, DecodeError> {
    if let Value::String(text) = value
        && let Ok(time) = DateTime::parse_from_rfc3339(text.trim())
    {
        return Ok(time.timestamp_millis());
    }
    let epoch = number("timestamp", value).map_err(|_| {
        invalid(
            "timestamp",
            format!("expected RFC 3339 text or epoch seconds/milliseconds, got {value}"),
        )
    })?;
    if epoch < 0.0 {
        return Err(invalid("timestamp", format!("{epoch} is before 1970")));
    }
    let millis = if epoch < EPOCH_MILLIS_THRESHOLD {
        epoch * 1000.0
    } else {
        epoch
    };
    if millis > i64::MAX as f64 / 2.0 {
        return Err(invalid("timestamp", format!("{epoch} is too far in the future")));
    }
    Ok(millis.round() as i64)
}

pub(crate) fn optional_text(
    object: &Map<String, Value>,
    fields: &[&'static str],
) -> Result<Option<String>, DecodeError> {
    match first_present(object, fields) {
        None => Ok(None),
        Some((_, Value::String(text))) => Ok(Some(text.clone())),
        Some((_, Value::Number(number))) => Ok(Some(number.to_string())),
        Some((field, other)) => Err(invalid(field, format!("expected text, got {other}"))),
    }
}

fn optional_number(object: &Map<String, Value>, field: &'static str) -> Result<Option<f64>, DecodeError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => number(field, value).map(Some),
    }
}

#[cfg(test)]
mod tests {
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
}
