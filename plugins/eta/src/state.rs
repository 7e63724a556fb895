//! What the eta plugin keeps per driver in kv, and how it maps to hash fields.
//!
//! One hash `{key_prefix}eta:trip:{driver_id}` holds the driver's trip (the
//! SDK's `trip_*` fields), the speed measurement (`eta_*` fields, which
//! outlive a trip: a driver's speed does not reset with a new order) and the
//! last published estimate (`eta_sent_*`, tagged with its order id).

use fleethost_plugin_sdk::kv::FieldValue;
use fleethost_plugin_sdk::trip::{Phase, Trip, field};

use crate::estimate::Sent;
use crate::motion::{Fix, Motion};

const LAST_TS_MS: &str = "eta_last_ts_ms";
const LAT: &str = "eta_lat";
const LNG: &str = "eta_lng";
const TS_MS: &str = "eta_ts_ms";
const ANCHOR_LAT: &str = "eta_anchor_lat";
const ANCHOR_LNG: &str = "eta_anchor_lng";
const ANCHOR_TS_MS: &str = "eta_anchor_ts_ms";
const SPEED_MPS: &str = "eta_speed_mps";
const SENT_ORDER_ID: &str = "eta_sent_order_id";
const SENT_PHASE: &str = "eta_sent_phase";
const SENT_ETA_S: &str = "eta_sent_eta_s";

/// One driver's state as stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DriverState {
    /// The current or last trip; `None` for a driver never assigned.
    pub trip: Option<Trip>,
    pub motion: Motion,
    /// The last estimate published.
    pub sent: Option<Sent>,
}

impl DriverState {
    /// Reads the state back from its hash (empty or partial hashes give
    /// empty parts).
    pub fn from_fields(fields: &[FieldValue]) -> Self {
        let fix = |lat: &str, lng: &str, ts: &str| {
            Some(Fix {
                latitude: field(fields, lat)?,
                longitude: field(fields, lng)?,
                ts_ms: field(fields, ts)?,
            })
        };
        let sent = || {
            Some(Sent {
                order_id: field(fields, SENT_ORDER_ID)?,
                phase: Phase::parse(&field::<String>(fields, SENT_PHASE)?)?,
                eta_s: field(fields, SENT_ETA_S)?,
            })
        };
        Self {
            trip: Trip::from_fields(fields),
            motion: Motion {
                last_ts_ms: field(fields, LAST_TS_MS),
                position: fix(LAT, LNG, TS_MS),
                anchor: fix(ANCHOR_LAT, ANCHOR_LNG, ANCHOR_TS_MS),
                speed_mps: field(fields, SPEED_MPS),
            },
            sent: sent(),
        }
    }

    /// The plugin's own fields (everything but the trip).
    pub fn eta_fields(&self) -> Vec<FieldValue> {
        let mut fields = Vec::new();
        if let Some(last) = self.motion.last_ts_ms {
            fields.push(FieldValue::new(LAST_TS_MS, last));
        }
        if let Some(position) = self.motion.position {
            fields.push(FieldValue::new(LAT, position.latitude));
            fields.push(FieldValue::new(LNG, position.longitude));
            fields.push(FieldValue::new(TS_MS, position.ts_ms));
        }
        if let Some(anchor) = self.motion.anchor {
            fields.push(FieldValue::new(ANCHOR_LAT, anchor.latitude));
            fields.push(FieldValue::new(ANCHOR_LNG, anchor.longitude));
            fields.push(FieldValue::new(ANCHOR_TS_MS, anchor.ts_ms));
        }
        if let Some(speed) = self.motion.speed_mps {
            fields.push(FieldValue::new(SPEED_MPS, speed));
        }
        if let Some(sent) = &self.sent {
            fields.push(FieldValue::new(SENT_ORDER_ID, &sent.order_id));
            fields.push(FieldValue::new(SENT_PHASE, sent.phase.as_str()));
            fields.push(FieldValue::new(SENT_ETA_S, sent.eta_s));
        }
        fields
    }

    /// Every field: the trip's and the plugin's own.
    pub fn all_fields(&self) -> Vec<FieldValue> {
        let mut fields = self.trip.as_ref().map(Trip::to_fields).unwrap_or_default();
        fields.extend(self.eta_fields());
        fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleethost_plugin_sdk::Point;

    #[test]
    fn state_round_trips_through_fields() {
        let fix = Fix {
            latitude: 12.9,
            longitude: 77.6,
            ts_ms: 1_000,
        };
        let state = DriverState {
            trip: Some(Trip {
                order_id: "o1".into(),
                driver_id: "d1".into(),
                phase: Phase::ToDropoff,
                pickup: Point {
                    latitude: 1.0,
                    longitude: 2.0,
                },
                dropoff: Point {
                    latitude: 3.0,
                    longitude: 4.0,
                },
                assigned_ms: 10,
                picked_up_ms: Some(20),
                ended_ms: None,
            }),
            motion: Motion {
                last_ts_ms: Some(2_000),
                position: Some(Fix { ts_ms: 2_000, ..fix }),
                anchor: Some(fix),
                speed_mps: Some(7.25),
            },
            sent: Some(Sent {
                order_id: "o1".into(),
                phase: Phase::ToPickup,
                eta_s: 90,
            }),
        };
        assert_eq!(DriverState::from_fields(&state.all_fields()), state);
        assert_eq!(DriverState::from_fields(&[]), DriverState::default());
    }
}
