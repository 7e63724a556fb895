//! What the eta plugin keeps per driver in kv, and how it maps to hash fields.
//!
//! One hash `{key_prefix}eta:trip:{driver_id}` holds two
//! [records](fleethost_plugin_sdk::record): `trip`, the driver's trip (the
//! SDK's), and `eta`, the plugin's own values: the speed measurement
//! (`eta_last_ts_ms`, `eta_lat`/`_lng`/`_ts_ms`, `eta_anchor_lat`/`_lng`/`_ts_ms`,
//! `eta_speed_mps`, which outlive a trip: a driver's speed does not reset
//! with a new order) and the last published estimate (`eta_sent_order_id`,
//! `eta_sent_phase`, `eta_sent_eta_s`). Earlier versions kept each value in
//! its own field; such hashes still read.

use fleethost_plugin_sdk::kv::FieldValue;
use fleethost_plugin_sdk::record::{self, Decimal, Values, Writer};
use fleethost_plugin_sdk::trip::{self, Phase, Trip};

use crate::estimate::Sent;
use crate::motion::{Fix, Motion};

/// The hash field of the plugin's own values.
pub const RECORD: &str = "eta";

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
        let values = Values::of(fields, &[trip::RECORD, RECORD]);
        let fix = |lat: &str, lng: &str, ts: &str| {
            Some(Fix {
                latitude: values.parse(lat)?,
                longitude: values.parse(lng)?,
                ts_ms: values.parse(ts)?,
            })
        };
        let sent = || {
            Some(Sent {
                order_id: values.text(SENT_ORDER_ID).filter(|id| !id.is_empty())?.to_string(),
                phase: Phase::parse(values.text(SENT_PHASE)?)?,
                eta_s: values.parse(SENT_ETA_S)?,
            })
        };
        Self {
            trip: Trip::from_values(&values),
            motion: Motion {
                last_ts_ms: values.parse(LAST_TS_MS),
                position: fix(LAT, LNG, TS_MS),
                anchor: fix(ANCHOR_LAT, ANCHOR_LNG, ANCHOR_TS_MS),
                speed_mps: values.parse(SPEED_MPS),
            },
            sent: sent(),
        }
    }

    /// The plugin's own fields (everything but the trip): the `eta` record,
    /// every value written, empty when unset (see [`record::field`]).
    pub fn eta_fields(&self) -> Vec<FieldValue> {
        let position = self.motion.position;
        let anchor = self.motion.anchor;
        let sent = self.sent.as_ref();
        let mut writer = Writer::new();
        writer
            .optional(LAST_TS_MS, self.motion.last_ts_ms)
            .optional(LAT, position.map(|fix| Decimal(fix.latitude)))
            .optional(LNG, position.map(|fix| Decimal(fix.longitude)))
            .optional(TS_MS, position.map(|fix| fix.ts_ms))
            .optional(ANCHOR_LAT, anchor.map(|fix| Decimal(fix.latitude)))
            .optional(ANCHOR_LNG, anchor.map(|fix| Decimal(fix.longitude)))
            .optional(ANCHOR_TS_MS, anchor.map(|fix| fix.ts_ms))
            .optional(SPEED_MPS, self.motion.speed_mps.map(Decimal))
            .optional(SENT_ORDER_ID, sent.map(|sent| &sent.order_id))
            .optional(SENT_PHASE, sent.map(|sent| sent.phase.as_str()))
            .optional(SENT_ETA_S, sent.map(|sent| sent.eta_s));
        vec![record::field(RECORD, writer)]
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
        assert_eq!(state.all_fields().len(), 2, "a trip record and an eta record");
        assert_eq!(DriverState::from_fields(&[]), DriverState::default());
        // A hash of the earlier one-field-per-value layout reads the same.
        let mut legacy = record::unpack(&state.all_fields(), &[trip::RECORD, RECORD]);
        assert_eq!(DriverState::from_fields(&legacy), state);
        // A new record written next to stale fields wins, unset values included.
        let fresh = DriverState {
            sent: None,
            motion: Motion::default(),
            ..state.clone()
        };
        legacy.extend(fresh.eta_fields());
        assert_eq!(DriverState::from_fields(&legacy), fresh);
        assert_eq!(
            DriverState::from_fields(&DriverState::default().eta_fields()),
            DriverState::default()
        );
    }
}
