//! The notifications the plugin produces, and their JSON form.
//!
//! One JSON object per message on the notifications topic, keyed by driver id:
//!
//! ```text
//! {"type":"entered","driver_id":"d-7","geofence_id":"hub-1","ts_ms":1764000000000,"distance_m":150.2}
//! {"type":"near","driver_id":"d-7","order_id":"o-1","point":"pickup","ts_ms":1764000000000,"distance_m":480.0}
//! ```
//!
//! `ts_ms` is the event time of the fix that caused the notification.
//! `distance_m` (metres, rounded to 0.1) is, for a circle fence, the distance to
//! its centre; for a polygon fence, the distance to its boundary (0 inside); for
//! an order point, the distance to that point.

use fleethost_plugin_sdk::json::JsonObject;
use fleethost_plugin_sdk::produce::Message;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The driver came within `near_m` of an order point.
    Near,
    /// The driver came within `arrived_m` of an order point.
    Arrived,
    /// The driver went inside a static fence.
    Entered,
    /// The driver left a static fence (beyond its edge by more than the hysteresis).
    Exited,
}

impl Kind {
    /// The notification's `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Near => "near",
            Kind::Arrived => "arrived",
            Kind::Entered => "entered",
            Kind::Exited => "exited",
        }
    }
}

/// The two points of an order a driver heads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Pickup,
    Dropoff,
}

impl Stop {
    /// The notification's `point`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stop::Pickup => "pickup",
            Stop::Dropoff => "dropoff",
        }
    }
}

/// What a notification is about.
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    /// A static fence, by id.
    Fence(String),
    /// One point of an order.
    Order { order_id: String, stop: Stop },
}

/// One notification for one driver.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub kind: Kind,
    pub driver_id: String,
    pub subject: Subject,
    /// Event time of the fix that caused it.
    pub ts_ms: i64,
    /// See the module documentation.
    pub distance_m: f64,
}

impl Notification {
    /// The JSON payload.
    pub fn to_json(&self) -> String {
        let json = JsonObject::new()
            .string("type", self.kind.as_str())
            .string("driver_id", &self.driver_id);
        let json = match &self.subject {
            Subject::Fence(id) => json.string("geofence_id", id),
            Subject::Order { order_id, stop } => json.string("order_id", order_id).string("point", stop.as_str()),
        };
        // A distance that is not a number is written as 0, not as `null`:
        // consumers read `distance_m` as a number.
        let distance_m = if self.distance_m.is_finite() {
            (self.distance_m * 10.0).round() / 10.0
        } else {
            0.0
        };
        json.integer("ts_ms", self.ts_ms)
            .number("distance_m", distance_m)
            .finish()
    }

    /// The message on `topic`, keyed by driver id (so that one driver's
    /// notifications stay in order on one partition).
    pub fn to_message(&self, topic: &str) -> Message {
        Message::text(topic, &self.driver_id, self.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fence_and_order_notifications_encode() {
        let entered = Notification {
            kind: Kind::Entered,
            driver_id: "d-7".into(),
            subject: Subject::Fence("hub-1".into()),
            ts_ms: 1_764_000_000_000,
            distance_m: 150.24,
        };
        assert_eq!(
            entered.to_json(),
            r#"{"type":"entered","driver_id":"d-7","geofence_id":"hub-1","ts_ms":1764000000000,"distance_m":150.2}"#
        );
        let near = Notification {
            kind: Kind::Near,
            driver_id: "d\"1\\\n".into(),
            subject: Subject::Order {
                order_id: "o-1".into(),
                stop: Stop::Dropoff,
            },
            ts_ms: 5,
            distance_m: 480.0,
        };
        assert_eq!(
            near.to_json(),
            r#"{"type":"near","driver_id":"d\"1\\\n","order_id":"o-1","point":"dropoff","ts_ms":5,"distance_m":480}"#
        );
    }
}
