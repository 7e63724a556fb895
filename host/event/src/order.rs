//! The order event: one step of an order's lifecycle, from an order topic
//! (`order-events`, keyed by driver id), decoded and validated like a location.
//!
//! ```json
//! {"type": "order_assigned", "order_id": "o-1", "driver_id": "d-7",
//!  "pickup": {"lat": 12.97, "lng": 77.59}, "dropoff": {"lat": 12.93, "lng": 77.62},
//!  "timestamp": 1764000000000}
//! {"type": "picked_up", "order_id": "o-1", "driver_id": "d-7", "timestamp": 1764000300000}
//! ```
//!
//! `type` (or `event`) is `order_assigned` (or `assigned`), `picked_up`,
//! `delivered` or `cancelled`; ids and the timestamp accept the same spellings
//! as locations (`orderId` too); points are objects with the location
//! coordinate spellings. An `order_assigned` event without both points, or
//! anything else unusable, is a [`DecodeError`] and goes to the dead-letter topic.
//! The event time is held to the pipeline's [`EventsConfig`] as a fix's is: an
//! order step dated far ahead would make every real fix of its trip look
//! earlier than it.

use serde_json::{Map, Value};

use crate::EventsConfig;
use crate::location::{
    DRIVER_ID_FIELDS, DecodeError, LATITUDE_FIELDS, LONGITUDE_FIELDS, coordinate, event_time, first_present, invalid,
    json_object, missing, required_id,
};

/// Field names accepted for the order id.
pub const ORDER_ID_FIELDS: [&str; 2] = ["order_id", "orderId"];
/// Field names accepted for the event type.
pub const TYPE_FIELDS: [&str; 2] = ["type", "event"];
/// Field names accepted for the pickup point.
pub const PICKUP_FIELDS: [&str; 2] = ["pickup", "pickup_location"];
/// Field names accepted for the drop-off point.
pub const DROPOFF_FIELDS: [&str; 4] = ["dropoff", "drop_off", "dropoff_location", "drop"];

/// The lifecycle step an order event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStep {
    /// `order_assigned`: a driver got the order; both points are known.
    Assigned,
    /// `picked_up`: the driver collected it.
    PickedUp,
    /// `delivered`: handed over at the drop-off.
    Delivered,
    /// `cancelled`: the trip ends without delivery.
    Cancelled,
}

/// One validated order event.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    /// Order id as text, whatever its JSON type was.
    pub order_id: String,
    /// Driver id as text, whatever its JSON type was.
    pub driver_id: String,
    /// The lifecycle step reported.
    pub step: OrderStep,
    /// (latitude, longitude) of the pickup point.
    pub pickup: Option<(f64, f64)>,
    /// (latitude, longitude) of the drop-off point.
    pub dropoff: Option<(f64, f64)>,
    /// Event time in ms since the epoch (the message timestamp when absent).
    pub timestamp_ms: i64,
}

impl Order {
    /// Decodes one message payload within the default [`EventsConfig`].
    /// `message_timestamp_ms` is the Kafka message timestamp, used when the
    /// payload carries no `timestamp`.
    pub fn decode(payload: Option<&[u8]>, message_timestamp_ms: Option<i64>) -> Result<Self, DecodeError> {
        Self::decode_within(payload, message_timestamp_ms, &EventsConfig::default())
    }

    /// Decodes one message payload and holds its event time to `bounds` (a
    /// pipeline's `events`) against `message_timestamp_ms`, or the host's
    /// clock when the message has none.
    pub fn decode_within(
        payload: Option<&[u8]>,
        message_timestamp_ms: Option<i64>,
        bounds: &EventsConfig,
    ) -> Result<Self, DecodeError> {
        Self::from_fields(&json_object(payload)?, message_timestamp_ms, bounds)
    }

    /// Validates a decoded message's fields (a JSON object, or an Avro or
    /// Protobuf message read into one).
    pub fn from_fields(
        object: &Map<String, Value>,
        message_timestamp_ms: Option<i64>,
        bounds: &EventsConfig,
    ) -> Result<Self, DecodeError> {
        let (type_field, kind) =
            first_present(object, &TYPE_FIELDS).ok_or_else(|| missing("order event type", &TYPE_FIELDS))?;
        let step = match kind.as_str() {
            Some("order_assigned" | "assigned") => OrderStep::Assigned,
            Some("picked_up") => OrderStep::PickedUp,
            Some("delivered") => OrderStep::Delivered,
            Some("cancelled") => OrderStep::Cancelled,
            _ => {
                return Err(invalid(
                    type_field,
                    format!("{kind} is not one of order_assigned, picked_up, delivered, cancelled"),
                ));
            }
        };
        let order_id = required_id(object, &ORDER_ID_FIELDS, "order id")?;
        let driver_id = required_id(object, &DRIVER_ID_FIELDS, "driver id")?;
        let pickup = point(object, &PICKUP_FIELDS)?;
        let dropoff = point(object, &DROPOFF_FIELDS)?;
        if step == OrderStep::Assigned {
            if pickup.is_none() {
                return Err(missing("pickup point of an order_assigned event", &PICKUP_FIELDS));
            }
            if dropoff.is_none() {
                return Err(missing("drop-off point of an order_assigned event", &DROPOFF_FIELDS));
            }
        }
        let timestamp_ms = event_time(object, message_timestamp_ms, bounds)?;
        Ok(Order {
            order_id,
            driver_id,
            step,
            pickup,
            dropoff,
            timestamp_ms,
        })
    }
}

impl OrderStep {
    /// The `type` this step is written with.
    pub fn type_name(self) -> &'static str {
        match self {
            OrderStep::Assigned => "order_assigned",
            OrderStep::PickedUp => "picked_up",
            OrderStep::Delivered => "delivered",
            OrderStep::Cancelled => "cancelled",
        }
    }
}

impl Order {
    /// The event as a field map with the canonical names (`type`,
    /// `order_id`, `driver_id`, `timestamp` in epoch ms, and `pickup` and
    /// `dropoff` as `{lat, lng}` when known): what the simulator encodes in
    /// a topic's format.
    pub fn to_fields(&self) -> Map<String, Value> {
        let point = |(lat, lng): (f64, f64)| {
            let mut point = Map::new();
            point.insert("lat".into(), lat.into());
            point.insert("lng".into(), lng.into());
            Value::Object(point)
        };
        let mut fields = Map::new();
        fields.insert("type".into(), self.step.type_name().into());
        fields.insert("order_id".into(), self.order_id.clone().into());
        fields.insert("driver_id".into(), self.driver_id.clone().into());
        fields.insert("timestamp".into(), self.timestamp_ms.into());
        if let Some(pickup) = self.pickup {
            fields.insert("pickup".into(), point(pickup));
        }
        if let Some(dropoff) = self.dropoff {
            fields.insert("dropoff".into(), point(dropoff));
        }
        fields
    }
}

/// An optional point: an object with a latitude and a longitude in range.
fn point(object: &Map<String, Value>, fields: &[&'static str]) -> Result<Option<(f64, f64)>, DecodeError> {
    let Some((field, value)) = first_present(object, fields) else {
        return Ok(None);
    };
    let Value::Object(point) = value else {
        return Err(invalid(
            field,
            format!("expected an object with lat and lng, got {value}"),
        ));
    };
    let in_field = |error: DecodeError| match error {
        DecodeError::Missing { what, fields } => invalid(field, format!("missing {what}: expected one of {fields}")),
        DecodeError::Invalid { field: inner, message } => invalid(&format!("{field}.{inner}"), message),
        DecodeError::OutOfRange {
            field: inner,
            value,
            min,
            max,
        } => DecodeError::OutOfRange {
            field: format!("{field}.{inner}"),
            value,
            min,
            max,
        },
        other => other,
    };
    let latitude = coordinate(point, &LATITUDE_FIELDS, "latitude", 90.0).map_err(in_field)?;
    let longitude = coordinate(point, &LONGITUDE_FIELDS, "longitude", 180.0).map_err(in_field)?;
    Ok(Some((latitude, longitude)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(json: &str) -> Result<Order, DecodeError> {
        Order::decode(Some(json.as_bytes()), Some(1_700_000_000_000))
    }

    #[test]
    fn an_assignment_decodes_with_both_points() {
        let order = Order::decode(
            Some(
                br#"{"type":"order_assigned","order_id":"o-1","driver_id":"d-7",
                "pickup":{"lat":12.97,"lng":77.59},"dropoff":{"latitude":12.93,"longitude":77.62},
                "timestamp":1764000000000}"#,
            ),
            Some(1_764_000_000_000),
        )
        .unwrap();
        assert_eq!(
            order,
            Order {
                order_id: "o-1".into(),
                driver_id: "d-7".into(),
                step: OrderStep::Assigned,
                pickup: Some((12.97, 77.59)),
                dropoff: Some((12.93, 77.62)),
                timestamp_ms: 1_764_000_000_000,
            }
        );
    }

    #[test]
    fn later_steps_need_only_ids_and_take_the_message_time() {
        for (kind, step) in [
            ("picked_up", OrderStep::PickedUp),
            ("delivered", OrderStep::Delivered),
            ("cancelled", OrderStep::Cancelled),
        ] {
            let order = decode(&format!(r#"{{"event":"{kind}","orderId":42,"driverId":"d"}}"#)).unwrap();
            assert_eq!((order.step, order.order_id.as_str()), (step, "42"));
            assert_eq!(order.timestamp_ms, 1_700_000_000_000);
        }
    }

    #[test]
    fn an_event_dated_past_the_future_skew_limit_is_refused() {
        let at = |timestamp_ms: i64| {
            format!(r#"{{"type":"picked_up","order_id":"o","driver_id":"d","timestamp":{timestamp_ms}}}"#)
        };
        let message_ms = 1_700_000_000_000;
        let bounds = EventsConfig::default();
        let order = Order::decode_within(Some(at(message_ms + 300_000).as_bytes()), Some(message_ms), &bounds).unwrap();
        assert_eq!(order.timestamp_ms, message_ms + 300_000);
        let error =
            Order::decode_within(Some(at(message_ms + 300_001).as_bytes()), Some(message_ms), &bounds).unwrap_err();
        assert_eq!(error.kind(), "future-timestamp");
        assert!(
            error
                .to_string()
                .contains("the limit is 300000 ms (pipelines[].events.max_future_skew_ms)"),
            "{error}"
        );
        let ten_years_ahead = message_ms + 10 * 365 * 86_400_000;
        assert_eq!(decode(&at(ten_years_ahead)).unwrap_err().kind(), "future-timestamp");
    }

    #[test]
    fn an_event_older_than_the_maximum_age_is_refused_when_one_is_set() {
        let message_ms = 1_700_000_000_000;
        let old = format!(
            r#"{{"type":"delivered","order_id":"o","driver_id":"d","timestamp":{}}}"#,
            message_ms - 600_000
        );
        let order = Order::decode_within(Some(old.as_bytes()), Some(message_ms), &EventsConfig::default()).unwrap();
        assert_eq!(order.timestamp_ms, message_ms - 600_000);
        let bounds = EventsConfig {
            max_age_ms: 599_999,
            ..EventsConfig::default()
        };
        let error = Order::decode_within(Some(old.as_bytes()), Some(message_ms), &bounds).unwrap_err();
        assert_eq!(error.kind(), "too-old");
        assert!(
            error
                .to_string()
                .contains("the limit is 599999 ms (pipelines[].events.max_age_ms)"),
            "{error}"
        );
    }

    #[test]
    fn without_a_message_timestamp_the_event_is_held_to_the_host_clock() {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let at = |timestamp_ms: i64| {
            format!(r#"{{"type":"picked_up","order_id":"o","driver_id":"d","timestamp":{timestamp_ms}}}"#)
        };
        assert!(Order::decode(Some(at(now_ms).as_bytes()), None).is_ok());
        let error = Order::decode(Some(at(now_ms + 3_600_000).as_bytes()), None).unwrap_err();
        assert_eq!(error.kind(), "future-timestamp");
        assert!(error.to_string().contains("the host's clock"), "{error}");
    }

    #[test]
    fn unusable_events_say_what_is_wrong() {
        let error = decode(r#"{"type":"order_assigned","order_id":"o","driver_id":"d","pickup":{"lat":1,"lng":2}}"#)
            .unwrap_err();
        assert!(error.to_string().contains("drop-off"), "{error}");
        let error = decode(r#"{"type":"teleported","order_id":"o","driver_id":"d"}"#).unwrap_err();
        assert!(error.to_string().contains("\"teleported\" is not one of"), "{error}");
        let error = decode(r#"{"type":"picked_up","driver_id":"d"}"#).unwrap_err();
        assert_eq!(error.kind(), "missing-field");
        let error = decode(
            r#"{"type":"order_assigned","order_id":"o","driver_id":"d","pickup":{"lat":91,"lng":2},"dropoff":{"lat":1,"lng":2}}"#,
        )
        .unwrap_err();
        assert!(error.to_string().contains("pickup.lat"), "{error}");
        assert_eq!(decode("[1]").unwrap_err().kind(), "not-json");
    }
}
