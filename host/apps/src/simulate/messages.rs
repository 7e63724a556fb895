//! The messages the simulator produces: fixes in the seed systems' location
//! format (what a gateway forwards from a driver's phone, see
//! `fleethost_event::location`) and order events in the order event format
//! (see `fleethost_event::order`), so that the host decodes both like any
//! real producer's. In JSON by default; on a topic whose format is Avro or
//! Protobuf, the same fix or event encoded from its canonical fields
//! ([`Location::to_fields`], [`Order::to_fields`]), as a producer of such a
//! topic writes it.

use fleethost_event::format::{Encoding, FormatError, PayloadFormat};
use fleethost_event::location::Location;
use fleethost_event::order::{Order, OrderStep};
use serde_json::{Value, json};

use super::geometry::{CityArea, Point};
use super::trip_model::{Fix, OrderEvent, OrderEventKind};

/// One fix:
/// `{"driverId","latitude","longitude","timestamp","speed","heading","state"}`
/// plus `order_id` when `with_order_id` and the driver is on an order.
/// `state` is the half of `city` the fix is in (`north` or `south`), as the
/// seed systems' region field.
pub fn fix_json(driver_id: &str, fix: &Fix, city: &CityArea, with_order_id: bool) -> String {
    let mut message = json!({
        "driverId": driver_id,
        "latitude": fix.position.latitude,
        "longitude": fix.position.longitude,
        "timestamp": fix.timestamp_ms,
        "speed": fix.speed_mps,
        "heading": fix.heading_deg,
        "state": region(fix, city),
    });
    if let (true, Some(order_id)) = (with_order_id, &fix.order_id) {
        message["order_id"] = Value::from(order_id.as_str());
    }
    message.to_string()
}

/// The same fix as [`fix_json`] holds, as the host's location: what is
/// encoded for a topic in Avro or Protobuf.
pub fn fix_location(driver_id: &str, fix: &Fix, city: &CityArea, with_order_id: bool) -> Location {
    Location {
        driver_id: driver_id.to_owned(),
        latitude: fix.position.latitude,
        longitude: fix.position.longitude,
        timestamp_ms: fix.timestamp_ms,
        region: Some(region(fix, city).to_owned()),
        order_id: fix.order_id.clone().filter(|_| with_order_id),
        speed: Some(fix.speed_mps),
        heading: Some(fix.heading_deg),
    }
}

/// One fix in `format`: exactly [`fix_json`] on a JSON topic (what the
/// simulator has always produced), the encoded [`fix_location`] otherwise.
pub fn fix_payload(
    format: &PayloadFormat,
    driver_id: &str,
    fix: &Fix,
    city: &CityArea,
    with_order_id: bool,
) -> Result<Vec<u8>, FormatError> {
    match format.encoding() {
        Encoding::Json => Ok(fix_json(driver_id, fix, city, with_order_id).into_bytes()),
        Encoding::Avro | Encoding::Protobuf => {
            format.encode(&fix_location(driver_id, fix, city, with_order_id).to_fields())
        }
    }
}

/// The half of `city` the fix is in: `south` or `north`.
fn region(fix: &Fix, city: &CityArea) -> &'static str {
    if fix.position.latitude < city.centre().latitude {
        "south"
    } else {
        "north"
    }
}

/// One order event: `{"type","order_id","driver_id","timestamp"}`, plus
/// `pickup` and `dropoff` (`{"lat","lng"}`) for `order_assigned`.
pub fn order_json(driver_id: &str, event: &OrderEvent) -> String {
    let mut message = json!({
        "type": event.kind.type_name(),
        "order_id": event.order_id,
        "driver_id": driver_id,
        "timestamp": event.timestamp_ms,
    });
    if let OrderEventKind::Assigned { pickup, dropoff } = event.kind {
        message["pickup"] = point_json(pickup);
        message["dropoff"] = point_json(dropoff);
    }
    message.to_string()
}

/// The same event as [`order_json`] holds, as the host's order event:
/// what is encoded for a topic in Avro or Protobuf.
pub fn order_event(driver_id: &str, event: &OrderEvent) -> Order {
    let (step, points) = match event.kind {
        OrderEventKind::Assigned { pickup, dropoff } => (OrderStep::Assigned, Some((pickup, dropoff))),
        OrderEventKind::PickedUp => (OrderStep::PickedUp, None),
        OrderEventKind::Delivered => (OrderStep::Delivered, None),
        OrderEventKind::Cancelled => (OrderStep::Cancelled, None),
    };
    let pair = |point: Point| (point.latitude, point.longitude);
    Order {
        order_id: event.order_id.clone(),
        driver_id: driver_id.to_owned(),
        step,
        pickup: points.map(|(pickup, _)| pair(pickup)),
        dropoff: points.map(|(_, dropoff)| pair(dropoff)),
        timestamp_ms: event.timestamp_ms,
    }
}

/// One order event in `format`: exactly [`order_json`] on a JSON topic,
/// the encoded [`order_event`] otherwise.
pub fn order_payload(format: &PayloadFormat, driver_id: &str, event: &OrderEvent) -> Result<Vec<u8>, FormatError> {
    match format.encoding() {
        Encoding::Json => Ok(order_json(driver_id, event).into_bytes()),
        Encoding::Avro | Encoding::Protobuf => format.encode(&order_event(driver_id, event).to_fields()),
    }
}

fn point_json(point: Point) -> Value {
    json!({"lat": point.latitude, "lng": point.longitude})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_formats;
    use fleethost_event::EventsConfig;

    const CITY: CityArea = super::super::CITY;

    fn fix(order_id: Option<&str>) -> Fix {
        Fix {
            timestamp_ms: 1_700_000_000_000,
            position: Point::new(12.9, 77.6),
            speed_mps: 8.5,
            heading_deg: 90.0,
            order_id: order_id.map(str::to_owned),
        }
    }

    #[test]
    fn fixes_decode_with_the_host_decoder() {
        let json = fix_json("driver-000003", &fix(Some("order-1-000003-1")), &CITY, true);
        let location = Location::decode(Some(json.as_bytes()), None).expect("a valid location");
        assert_eq!(location.driver_id, "driver-000003");
        assert_eq!((location.latitude, location.longitude), (12.9, 77.6));
        assert_eq!(location.timestamp_ms, 1_700_000_000_000);
        assert_eq!((location.speed, location.heading), (Some(8.5), Some(90.0)));
        assert_eq!(location.region.as_deref(), Some("south"));
        assert_eq!(location.order_id.as_deref(), Some("order-1-000003-1"));
    }

    #[test]
    fn fixes_without_orders_carry_no_order_id() {
        for json in [
            fix_json("d", &fix(None), &CITY, true),
            fix_json("d", &fix(Some("order-1-000000-1")), &CITY, false),
        ] {
            let location = Location::decode(Some(json.as_bytes()), None).expect("a valid location");
            assert_eq!(location.order_id, None, "{json}");
        }
    }

    #[test]
    fn order_events_decode_with_the_host_decoder() {
        let (pickup, dropoff) = (Point::new(12.97, 77.59), Point::new(12.93, 77.62));
        for (kind, step) in [
            (OrderEventKind::Assigned { pickup, dropoff }, OrderStep::Assigned),
            (OrderEventKind::PickedUp, OrderStep::PickedUp),
            (OrderEventKind::Delivered, OrderStep::Delivered),
            (OrderEventKind::Cancelled, OrderStep::Cancelled),
        ] {
            let event = OrderEvent {
                order_id: "order-42-000007-3".into(),
                timestamp_ms: 1_764_000_000_000,
                kind,
            };
            let json = order_json("driver-000007", &event);
            let order = Order::decode(Some(json.as_bytes()), None).expect("a valid order event");
            let points = match kind {
                OrderEventKind::Assigned { .. } => (Some((12.97, 77.59)), Some((12.93, 77.62))),
                _ => (None, None),
            };
            assert_eq!(
                order,
                Order {
                    order_id: "order-42-000007-3".into(),
                    driver_id: "driver-000007".into(),
                    step,
                    pickup: points.0,
                    dropoff: points.1,
                    timestamp_ms: 1_764_000_000_000,
                }
            );
        }
    }

    fn order_events() -> Vec<OrderEvent> {
        let (pickup, dropoff) = (Point::new(12.97, 77.59), Point::new(12.93, 77.62));
        [
            OrderEventKind::Assigned { pickup, dropoff },
            OrderEventKind::PickedUp,
            OrderEventKind::Delivered,
            OrderEventKind::Cancelled,
        ]
        .into_iter()
        .map(|kind| OrderEvent {
            order_id: "order-42-000007-3".into(),
            timestamp_ms: 1_764_000_000_000,
            kind,
        })
        .collect()
    }

    #[test]
    fn on_a_json_topic_the_payloads_are_the_json_as_before() {
        let json = PayloadFormat::json();
        let fix = fix(Some("order-1-000003-1"));
        assert_eq!(
            fix_payload(&json, "d", &fix, &CITY, true).expect("JSON"),
            fix_json("d", &fix, &CITY, true).into_bytes()
        );
        for event in order_events() {
            assert_eq!(
                order_payload(&json, "d", &event).expect("JSON"),
                order_json("d", &event).into_bytes()
            );
        }
    }

    #[test]
    fn fixes_in_avro_and_protobuf_decode_to_the_fix_their_json_holds() {
        let bounds = EventsConfig::default();
        for format in [
            test_formats::avro("location.avsc"),
            test_formats::protobuf("fleethost.v1.Location"),
        ] {
            for (order_id, with_order_id) in [
                (Some("order-1-000003-1"), true),
                (Some("order-1-000003-1"), false),
                (None, true),
            ] {
                let fix = fix(order_id);
                let payload = fix_payload(&format, "driver-000003", &fix, &CITY, with_order_id).expect("encodes");
                assert_eq!(payload[0], 0, "Confluent framing");
                let read = format
                    .decode_location(Some(&payload), Some(fix.timestamp_ms), &bounds)
                    .expect("the host reads the simulator's fix");
                let json = fix_json("driver-000003", &fix, &CITY, with_order_id);
                let expected = Location::decode(Some(json.as_bytes()), None).expect("a valid location");
                assert_eq!(read, expected, "{:?}", format.encoding());
            }
        }
    }

    #[test]
    fn order_events_in_avro_and_protobuf_decode_to_the_event_their_json_holds() {
        let bounds = EventsConfig::default();
        for format in [
            test_formats::avro("order.avsc"),
            test_formats::protobuf("fleethost.v1.OrderEvent"),
        ] {
            for event in order_events() {
                let payload = order_payload(&format, "driver-000007", &event).expect("encodes");
                let read = format
                    .decode_order(Some(&payload), Some(event.timestamp_ms), &bounds)
                    .expect("the host reads the simulator's order event");
                let json = order_json("driver-000007", &event);
                let expected = Order::decode(Some(json.as_bytes()), None).expect("a valid order event");
                assert_eq!(read, expected, "{:?} {:?}", format.encoding(), event.kind);
            }
        }
    }
}
