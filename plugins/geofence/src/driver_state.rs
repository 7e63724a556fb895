//! What the plugin remembers about one driver between fixes, and how it is
//! stored in the driver's kv hash `{key_prefix}geofence:{driver_id}`.
//!
//! Location batches write it as one record ([`fleethost_plugin_sdk::record`]),
//! the field `geofence` (order batches write only the trip's `trip` record, see
//! [`crate::trip_state`], so the two never overwrite each other); earlier
//! versions kept each value in its own field, and such hashes still read. Its
//! values:
//!
//! - `last_fix_ms`: event time of the newest fix processed; fixes not newer are
//!   skipped, which makes a redelivered batch emit nothing;
//! - `inside`: the static fences the driver is inside, ids separated by `,`;
//! - `sent_near_pickup`, `sent_arrived_pickup`, `sent_near_dropoff`,
//!   `sent_arrived_dropoff`: the order for which that notification was sent
//!   (empty when none): each fires at most once per order.

use std::collections::BTreeSet;

use fleethost_plugin_sdk::kv::FieldValue;
use fleethost_plugin_sdk::record::{self, Values, Writer};

use crate::notification::{Kind, Stop};

/// How close a driver came to an order point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approach {
    /// Within `near_m`.
    Near,
    /// Within `arrived_m`.
    Arrived,
}

impl Approach {
    /// The notification kind it is reported as.
    pub fn kind(self) -> Kind {
        match self {
            Approach::Near => Kind::Near,
            Approach::Arrived => Kind::Arrived,
        }
    }
}

/// One of the four once-per-order notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderAlert {
    pub approach: Approach,
    pub stop: Stop,
}

impl OrderAlert {
    /// Every order alert.
    pub const ALL: [OrderAlert; 4] = [
        OrderAlert::new(Approach::Near, Stop::Pickup),
        OrderAlert::new(Approach::Arrived, Stop::Pickup),
        OrderAlert::new(Approach::Near, Stop::Dropoff),
        OrderAlert::new(Approach::Arrived, Stop::Dropoff),
    ];

    /// The alert for `approach` to `stop`.
    pub const fn new(approach: Approach, stop: Stop) -> Self {
        Self { approach, stop }
    }

    /// Position in [`OrderAlert::ALL`].
    fn index(self) -> usize {
        let approach = match self.approach {
            Approach::Near => 0,
            Approach::Arrived => 1,
        };
        let stop = match self.stop {
            Stop::Pickup => 0,
            Stop::Dropoff => 2,
        };
        approach + stop
    }

    /// The name of its value: `sent_{kind}_{stop}`.
    fn field_name(self) -> &'static str {
        match (self.approach, self.stop) {
            (Approach::Near, Stop::Pickup) => "sent_near_pickup",
            (Approach::Arrived, Stop::Pickup) => "sent_arrived_pickup",
            (Approach::Near, Stop::Dropoff) => "sent_near_dropoff",
            (Approach::Arrived, Stop::Dropoff) => "sent_arrived_dropoff",
        }
    }
}

/// Fence ids written as one value, separated by `,`.
struct Joined<'a>(&'a BTreeSet<String>);

impl std::fmt::Display for Joined<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (index, id) in self.0.iter().enumerate() {
            if index > 0 {
                formatter.write_str(",")?;
            }
            formatter.write_str(id)?;
        }
        Ok(())
    }
}

/// The hash field the state is stored in.
pub const RECORD: &str = "geofence";

/// One driver's geofence state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DriverState {
    /// Event time of the newest fix processed.
    pub last_fix_ms: Option<i64>,
    /// Ids of the static fences the driver is inside.
    pub inside: BTreeSet<String>,
    /// Per [`OrderAlert::ALL`] position, the order the alert was sent for.
    sent_for: [Option<String>; 4],
}

impl DriverState {
    /// Reads the state from the driver's hash; missing or malformed values
    /// read as "nothing yet".
    pub fn from_fields(fields: &[FieldValue]) -> Self {
        Self::from_values(&Values::of(fields, &[RECORD]))
    }

    /// Reads the state from a hash's values (`RECORD` among the records of
    /// [`Values::of`], so that one view serves the trip and the state).
    pub fn from_values(values: &Values<'_>) -> Self {
        let text = |name: &str| values.text(name).filter(|value| !value.is_empty());
        Self {
            last_fix_ms: values.parse("last_fix_ms"),
            inside: text("inside")
                .map(|ids| ids.split(',').filter(|id| !id.is_empty()).map(str::to_string).collect())
                .unwrap_or_default(),
            sent_for: OrderAlert::ALL.map(|alert| text(alert.field_name()).map(str::to_string)),
        }
    }

    /// The state as hash fields: the `geofence` record, every value written,
    /// empty where there is nothing (see [`record::field`]).
    pub fn to_fields(&self) -> Vec<FieldValue> {
        let mut writer = Writer::new();
        writer
            .optional("last_fix_ms", self.last_fix_ms)
            .value("inside", Joined(&self.inside));
        for alert in OrderAlert::ALL {
            writer.optional(alert.field_name(), self.sent_for[alert.index()].as_ref());
        }
        vec![record::field(RECORD, writer)]
    }

    /// Whether `alert` was already sent for `order_id`.
    pub fn was_sent(&self, alert: OrderAlert, order_id: &str) -> bool {
        self.sent_for[alert.index()].as_deref() == Some(order_id)
    }

    /// Records that `alert` was sent for `order_id`.
    pub fn mark_sent(&mut self, alert: OrderAlert, order_id: &str) {
        self.sent_for[alert.index()] = Some(order_id.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_through_fields() {
        let mut state = DriverState {
            last_fix_ms: Some(42),
            inside: ["hub-1".to_string(), "rest-7".to_string()].into(),
            ..DriverState::default()
        };
        state.mark_sent(OrderAlert::ALL[3], "o-1");
        let fields = state.to_fields();
        assert_eq!(fields.len(), 1);
        let values = record::unpack(&fields, &[RECORD]);
        assert!(values.contains(&FieldValue::new("inside", "hub-1,rest-7")));
        assert!(values.contains(&FieldValue::new("sent_arrived_dropoff", "o-1")));
        assert!(values.contains(&FieldValue::new("sent_near_pickup", "")));
        // The earlier one-field-per-value layout reads the same.
        assert_eq!(DriverState::from_fields(&values), state);
        // A new record written next to stale fields wins.
        let mut stale = values.clone();
        stale.extend(DriverState::default().to_fields());
        assert_eq!(DriverState::from_fields(&stale), DriverState::default());
        let read = DriverState::from_fields(&fields);
        assert_eq!(read, state);
        assert!(read.was_sent(OrderAlert::ALL[3], "o-1"));
        assert!(!read.was_sent(OrderAlert::ALL[3], "o-2"));
        assert!(!read.was_sent(OrderAlert::ALL[0], "o-1"));
        assert_eq!(DriverState::from_fields(&[]), DriverState::default());
        assert_eq!(
            DriverState::from_fields(&DriverState::default().to_fields()),
            DriverState::default()
        );
    }

    #[test]
    fn alert_names_are_kind_and_stop() {
        for alert in OrderAlert::ALL {
            let name = format!("sent_{}_{}", alert.approach.kind().as_str(), alert.stop.as_str());
            assert_eq!(alert.field_name(), name);
        }
    }
}
