//! The JSON the simulator produces: fixes in the seed systems' location format
//! (what a gateway forwards from a driver's phone, see `fleethost_event::location`) and order
//! events in the order event format (see `fleethost_event::order`), so that the host
//! decodes both like any real producer's.

use serde_json::{Value, json};

use super::geometry::{CityArea, Point};
use super::trip_model::{Fix, OrderEvent, OrderEventKind};

/// One fix:
/// `{"driverId","latitude","longitude","timestamp","speed","heading","state"}`
/// plus `order_id` when `with_order_id` and the driver is on an order.
/// `state` is the half of `city` the fix is in (`north` or `south`), as the
/// seed systems' region field.
pub fn fix_json(driver_id: &str, fix: &Fix, city: &CityArea, with_order_id: bool) -> String {
    let region = if fix.position.latitude < city.centre().latitude {
        "south"
    } else {
        "north"
    };
    let mut message = json!({
        "driverId": driver_id,
        "latitude": fix.position.latitude,
        "longitude": fix.position.longitude,
        "timestamp": fix.timestamp_ms,
        "speed": fix.speed_mps,
        "heading": fix.heading_deg,
        "state": region,
    });
    if let (true, Some(order_id)) = (with_order_id, &fix.order_id) {
        message["order_id"] = Value::from(order_id.as_str());
    }
    message.to_string()
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

fn point_json(point: Point) -> Value {
    json!({"lat": point.latitude, "lng": point.longitude})
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleethost_event::location::Location;
    use fleethost_event::order::{Order, OrderStep};

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
}
