//! What the eta plugin keeps per driver in kv, and how it maps to hash fields.
//!
//! One hash `{key_prefix}eta:trip:{driver_id}` holds two
//! [records](fleethost_plugin_sdk::record): `trip`, the driver's trip (the
//! SDK's), and `eta`, the plugin's own values: the speed measurement
//! (`eta_last_ts_ms`, `eta_lat`/`_lng`/`_ts_ms`, `eta_anchor_lat`/`_lng`/`_ts_ms`,
//! `eta_speed_mps`, which outlive a trip: a driver's speed does not reset
//! with a new order) and the last published estimate (`eta_sent_order_id`,
//! `eta_sent_assigned_ms`, `eta_sent_phase`, `eta_sent_eta_s`).
//!
//! Order batches write only `trip`, fix batches only `eta`, each a whole
//! record in one `HSET` field and never a delete of the hash: the two batch
//! kinds run concurrently for the same driver, and neither can then undo the
//! other's update (see the crate's docs for what a fix batch racing an order
//! batch can still do).
//!
//! Earlier versions kept each value in its own field; such hashes still read,
//! and their leftover fields are never removed (kv has no per-field delete,
//! and deleting the hash would race the other batch kind) but can never
//! shadow a record: a record's values are looked up first, and a record
//! holds every value it can, empty when unset ([`record::Values`]). A last
//! estimate read from such fields (or from an `eta` record of a version
//! before `eta_sent_assigned_ms`) names no trip and is not used: the next
//! estimate of the driver's trip is published.

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
const SENT_ASSIGNED_MS: &str = "eta_sent_assigned_ms";
const SENT_PHASE: &str = "eta_sent_phase";
const SENT_ETA_S: &str = "eta_sent_eta_s";

/// One driver's state as stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DriverState {
    /// The current or last trip (the `trip` record, written by order
    /// batches); `None` for a driver never assigned.
    pub trip: Option<Trip>,
    /// The speed measurement (in the `eta` record, written by fix batches).
    pub motion: Motion,
    /// The last estimate published (in the `eta` record, written by fix
    /// batches).
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
                assigned_ms: values.parse(SENT_ASSIGNED_MS)?,
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
    /// every value written, empty when unset (see [`record::field`]). What a
    /// fix batch writes; order batches write [`Trip::to_fields`].
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
            .optional(SENT_ASSIGNED_MS, sent.map(|sent| sent.assigned_ms))
            .optional(SENT_PHASE, sent.map(|sent| sent.phase.as_str()))
            .optional(SENT_ETA_S, sent.map(|sent| sent.eta_s));
        vec![record::field(RECORD, writer)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleethost_plugin_sdk::Point;

    /// Every field: the trip's and the plugin's own, as the two batch kinds
    /// leave them in the hash.
    fn all_fields(state: &DriverState) -> Vec<FieldValue> {
        let mut fields = state.trip.as_ref().map(Trip::to_fields).unwrap_or_default();
        fields.extend(state.eta_fields());
        fields
    }

    fn state() -> DriverState {
        let fix = Fix {
            latitude: 12.9,
            longitude: 77.6,
            ts_ms: 1_000,
        };
        DriverState {
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
                assigned_ms: 10,
                phase: Phase::ToPickup,
                eta_s: 90,
            }),
        }
    }

    #[test]
    fn state_round_trips_through_fields() {
        let state = state();
        assert_eq!(DriverState::from_fields(&all_fields(&state)), state);
        assert_eq!(all_fields(&state).len(), 2, "a trip record and an eta record");
        assert_eq!(DriverState::from_fields(&[]), DriverState::default());
        assert_eq!(
            DriverState::from_fields(&DriverState::default().eta_fields()),
            DriverState::default()
        );
    }

    #[test]
    fn leftover_fields_of_the_older_layout_never_shadow_a_record() {
        let state = state();
        // The older layout had no `eta_sent_assigned_ms`.
        let mut legacy = record::unpack(&all_fields(&state), &[trip::RECORD, RECORD]);
        legacy.retain(|field| field.field != SENT_ASSIGNED_MS);
        // A hash of the one-field-per-value layout reads the same, except the
        // last estimate: written before it named its trip, it is not used.
        let legacy_state = DriverState::from_fields(&legacy);
        assert_eq!(
            legacy_state,
            DriverState {
                sent: None,
                ..state.clone()
            }
        );
        // The order batch of a new trip writes its record next to the
        // leftovers (no delete of the hash): the new trip, no step time of
        // the old one; the motion is still the leftovers'.
        let new_trip = Trip {
            order_id: "o2".into(),
            phase: Phase::ToPickup,
            assigned_ms: 30,
            picked_up_ms: None,
            ended_ms: None,
            ..state.trip.clone().expect("a trip")
        };
        let mut hash = legacy.clone();
        hash.extend(new_trip.to_fields());
        let read = DriverState::from_fields(&hash);
        assert_eq!(
            (read.trip.as_ref(), &read.motion, &read.sent),
            (Some(&new_trip), &state.motion, &None)
        );
        // The fix batch's record then wins for every value, unset ones included.
        let fresh = DriverState {
            trip: Some(new_trip),
            motion: Motion::default(),
            sent: None,
        };
        hash.extend(fresh.eta_fields());
        assert_eq!(DriverState::from_fields(&hash), fresh);
        // An eta record of a version before the estimate named its trip:
        // the same, its last estimate is not used.
        let mut older_record = legacy;
        older_record.retain(|field| field.field.starts_with("eta_"));
        let mut writer = Writer::new();
        for field in &older_record {
            writer.value(&field.field, &field.value);
        }
        let read = DriverState::from_fields(&[record::field(RECORD, writer)]);
        assert_eq!((read.motion, read.sent), (state.motion, None));
    }
}
