//! The location event: decoding and validation of one Kafka message.
//!
//! The decoder accepts the field spellings of the seed systems
//! (docs/events.md). Anything that is not a usable location is a
//! [`DecodeError`] that names what was wrong; the pipeline sends such messages
//! to the dead-letter topic with that reason.
//!
//! Beyond parsing, an event is held to its pipeline's [`EventsConfig`]: an
//! event time too far ahead of the message timestamp (a phone with a bad
//! clock would otherwise pin its driver, since live positions are kept newest
//! by event time), or too far behind it when a maximum age is set, and a
//! speed or heading out of range are decode errors too.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, SecondsFormat};
use serde_json::{Map, Value};

use crate::EventsConfig;

/// Field names accepted for the driver id, in order of preference.
pub const DRIVER_ID_FIELDS: [&str; 5] = ["driverId", "driver_id", "delivery_id", "car_id", "rider_id"];
/// Field names accepted for the latitude.
pub const LATITUDE_FIELDS: [&str; 2] = ["latitude", "lat"];
/// Field names accepted for the longitude.
pub const LONGITUDE_FIELDS: [&str; 3] = ["longitude", "lng", "lon"];

/// Highest `heading` in degrees (0 and 360 are both north).
const MAX_HEADING_DEG: f64 = 360.0;

/// Epoch values below this are seconds, at or above it milliseconds
/// (10^11 seconds is the year 5138; 10^11 milliseconds is 1973).
const EPOCH_MILLIS_THRESHOLD: f64 = 1e11;

/// Latest event time, in ms since the epoch: half of i64's range, so that
/// the bounds' arithmetic never overflows.
const MAX_TIMESTAMP_MS: i64 = i64::MAX / 2;

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
    /// `speed` in m/s, when known: within [0, `max_speed_mps`].
    pub speed: Option<f64>,
    /// `heading` in degrees, when known: within [0, 360].
    pub heading: Option<f64>,
}

/// What an event time was compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeReference {
    /// The Kafka message timestamp, in ms since the epoch.
    Message(i64),
    /// The host's clock when the message had no timestamp, in ms since the epoch.
    HostClock(i64),
}

impl TimeReference {
    /// The reference instant in ms since the epoch.
    pub fn at_ms(self) -> i64 {
        match self {
            TimeReference::Message(at_ms) | TimeReference::HostClock(at_ms) => at_ms,
        }
    }
}

impl std::fmt::Display for TimeReference {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            TimeReference::Message(at_ms) => write!(formatter, "the message timestamp {}", time_text(at_ms)),
            TimeReference::HostClock(at_ms) => write!(
                formatter,
                "the host's clock {} (the message has no timestamp)",
                time_text(at_ms)
            ),
        }
    }
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
    /// The event time is further ahead of the message timestamp than
    /// `max_future_skew_ms` allows.
    #[error(
        "field `timestamp` = {} is {} ahead of {reference}; the limit is {limit_ms} ms (pipelines[].events.max_future_skew_ms)",
        time_text(*.timestamp_ms),
        span_text(.reference.at_ms().abs_diff(*.timestamp_ms))
    )]
    FutureTimestamp {
        /// The event's time, ms since the epoch.
        timestamp_ms: i64,
        /// What it was compared with.
        reference: TimeReference,
        /// The configured limit.
        limit_ms: u64,
    },
    /// The payload is not readable in its topic's format (Avro, Protobuf,
    /// their framing).
    #[error("{0}")]
    Format(#[from] crate::format_error::FormatError),
    /// The event time is further behind the message timestamp than
    /// `max_age_ms` allows.
    #[error(
        "field `timestamp` = {} is {} behind {reference}; the limit is {limit_ms} ms (pipelines[].events.max_age_ms)",
        time_text(*.timestamp_ms),
        span_text(.reference.at_ms().abs_diff(*.timestamp_ms))
    )]
    TooOld {
        /// The event's time, ms since the epoch.
        timestamp_ms: i64,
        /// What it was compared with.
        reference: TimeReference,
        /// The configured limit.
        limit_ms: u64,
    },
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
            DecodeError::FutureTimestamp { .. } => "future-timestamp",
            DecodeError::TooOld { .. } => "too-old",
            DecodeError::Format(error) => error.kind(),
        }
    }
}

impl Location {
    /// Decodes one message payload within the default [`EventsConfig`], for
    /// callers that have no pipeline config (the gateway).
    /// `message_timestamp_ms` is the Kafka message timestamp, used when the
    /// payload carries no `timestamp`.
    pub fn decode(payload: Option<&[u8]>, message_timestamp_ms: Option<i64>) -> Result<Self, DecodeError> {
        Self::decode_within(payload, message_timestamp_ms, &EventsConfig::default())
    }

    /// Decodes one message payload and holds it to `bounds` (a pipeline's
    /// `events`): its event time against `message_timestamp_ms` (the host's
    /// clock when the message has none), its speed and heading against their
    /// ranges.
    pub fn decode_within(
        payload: Option<&[u8]>,
        message_timestamp_ms: Option<i64>,
        bounds: &EventsConfig,
    ) -> Result<Self, DecodeError> {
        Self::from_fields(&json_object(payload)?, message_timestamp_ms, bounds)
    }

    /// Validates a decoded message's fields (a JSON object, or an Avro or
    /// Protobuf message read into one): the one place a fix's fields are
    /// held to the contract, whatever its format.
    pub fn from_fields(
        object: &Map<String, Value>,
        message_timestamp_ms: Option<i64>,
        bounds: &EventsConfig,
    ) -> Result<Self, DecodeError> {
        let driver_id = required_id(object, &DRIVER_ID_FIELDS, "driver id")?;

        let latitude = coordinate(object, &LATITUDE_FIELDS, "latitude", 90.0)?;
        let longitude = coordinate(object, &LONGITUDE_FIELDS, "longitude", 180.0)?;

        let timestamp_ms = event_time(object, message_timestamp_ms, bounds)?;

        Ok(Location {
            driver_id,
            latitude,
            longitude,
            timestamp_ms,
            region: optional_text(object, &["state", "region"])?,
            order_id: optional_text(object, &["order_id"])?,
            speed: bounded_number(object, "speed", bounds.max_speed_mps)?,
            heading: bounded_number(object, "heading", MAX_HEADING_DEG)?,
        })
    }
}

impl Location {
    /// The fix as a field map with the canonical names (`driver_id`,
    /// `latitude`, `longitude`, `timestamp` in epoch ms, and `speed`,
    /// `heading`, `region`, `order_id` when known): what the gateway and the
    /// simulator encode in a topic's format.
    pub fn to_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert("driver_id".into(), self.driver_id.clone().into());
        fields.insert("latitude".into(), self.latitude.into());
        fields.insert("longitude".into(), self.longitude.into());
        fields.insert("timestamp".into(), self.timestamp_ms.into());
        let optional = [
            ("speed", self.speed.map(Value::from)),
            ("heading", self.heading.map(Value::from)),
            ("region", self.region.clone().map(Value::from)),
            ("order_id", self.order_id.clone().map(Value::from)),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                fields.insert(name.into(), value);
            }
        }
        fields
    }
}

/// The event time of `object`: its `timestamp`, held to `bounds` against the
/// message timestamp (the host's clock when there is none), or the message
/// timestamp itself when the payload has none.
pub(crate) fn event_time(
    object: &Map<String, Value>,
    message_timestamp_ms: Option<i64>,
    bounds: &EventsConfig,
) -> Result<i64, DecodeError> {
    let timestamp_ms = match object.get("timestamp") {
        None | Some(Value::Null) => return message_time(message_timestamp_ms),
        Some(value) => timestamp(value)?,
    };
    let reference = match message_timestamp_ms {
        Some(at_ms) => TimeReference::Message(at_ms),
        None => TimeReference::HostClock(host_clock_ms()),
    };
    let at_ms = reference.at_ms();
    // A limit too large for i64 milliseconds is no limit.
    let limit = |limit_ms: u64| i64::try_from(limit_ms).unwrap_or(i64::MAX);
    if timestamp_ms.saturating_sub(at_ms) > limit(bounds.max_future_skew_ms) {
        return Err(DecodeError::FutureTimestamp {
            timestamp_ms,
            reference,
            limit_ms: bounds.max_future_skew_ms,
        });
    }
    if bounds.max_age_ms > 0 && at_ms.saturating_sub(timestamp_ms) > limit(bounds.max_age_ms) {
        return Err(DecodeError::TooOld {
            timestamp_ms,
            reference,
            limit_ms: bounds.max_age_ms,
        });
    }
    Ok(timestamp_ms)
}

/// The message timestamp as the event time of an event without one: Kafka's
/// timestamps are never before 1970, and one further ahead than any
/// `timestamp` field may be is not a time either (written out as the event's
/// `timestamp`, it would be refused).
fn message_time(message_timestamp_ms: Option<i64>) -> Result<i64, DecodeError> {
    let at_ms = message_timestamp_ms.ok_or(DecodeError::NoTimestamp)?;
    if !(0..=MAX_TIMESTAMP_MS).contains(&at_ms) {
        return Err(invalid(
            "timestamp",
            format!(
                "absent, and the Kafka message timestamp {at_ms} is not a time (before 1970 or too far in the future)"
            ),
        ));
    }
    Ok(at_ms)
}

/// The host's clock in ms since the epoch (0 if it is set before 1970).
fn host_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
}

/// An instant as RFC 3339 text (UTC, with milliseconds only when it has any).
fn time_text(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms).map_or_else(
        || format!("{ms} ms since 1970"),
        |time| time.to_rfc3339_opts(SecondsFormat::AutoSi, true),
    )
}

/// A time span as exact milliseconds, with a reading in minutes, hours or
/// days once it is a minute or more.
fn span_text(ms: u64) -> String {
    const MINUTE: f64 = 60_000.0;
    let minutes = ms as f64 / MINUTE;
    if minutes < 1.0 {
        format!("{ms} ms")
    } else if minutes < 60.0 {
        format!("{ms} ms ({minutes:.1} minutes)")
    } else if minutes < 48.0 * 60.0 {
        format!("{ms} ms ({:.1} hours)", minutes / 60.0)
    } else {
        format!("{ms} ms ({:.1} days)", minutes / (24.0 * 60.0))
    }
}

/// The payload as a JSON object: the first step of every decoder.
pub(crate) fn json_object(payload: Option<&[u8]>) -> Result<Map<String, Value>, DecodeError> {
    let payload = payload.filter(|bytes| !bytes.is_empty()).ok_or(DecodeError::Empty)?;
    serde_json::from_slice(payload).map_err(|error| DecodeError::NotJson(error.to_string()))
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
    if millis > MAX_TIMESTAMP_MS as f64 {
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

/// An optional finite number within [0, `max`]. A negative one means
/// "unknown" (iOS reports an unknown speed or course as -1): absent, not an
/// error, so the fix's position is kept.
fn bounded_number(object: &Map<String, Value>, field: &'static str, max: f64) -> Result<Option<f64>, DecodeError> {
    let value = match object.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(value) => number(field, value)?,
    };
    if value < 0.0 {
        return Ok(None);
    }
    if value > max {
        return Err(DecodeError::OutOfRange {
            field: field.to_string(),
            value,
            min: 0.0,
            max,
        });
    }
    Ok(Some(value))
}

#[cfg(test)]
mod tests;
