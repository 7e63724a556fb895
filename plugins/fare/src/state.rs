//! What the fare plugin keeps per driver in kv, and how it maps to hash fields.
//!
//! One hash `{key_prefix}fare:trip:{driver_id}` holds two
//! [records](fleethost_plugin_sdk::record): `trip`, the driver's trip (the
//! SDK's), written only by order batches, and `fare`, the metering of that
//! trip (`fare_order_id`, `fare_assigned_ms`, `fare_last_ts_ms`,
//! `fare_now_ms`, `fare_anchor_lat`/`_lng`/`_ts_ms`, `fare_distance_m`,
//! `fare_region`), written only by fix batches. The two batch kinds of one
//! driver run at the same time, so neither may write the other's field, nor
//! delete the hash. The metering therefore names the trip it is of, by order
//! id and assignment time, instead of being cleared when a new trip starts:
//! a metering a fix batch wrote for a trip that has since been replaced (even
//! by the same order assigned to the driver again) is simply not used.
//! Earlier versions kept each value in its own field; such hashes still read.
//! A metering written before the assignment time was recorded has none and
//! is taken for the trip of its order, as it was then, so that a trip under
//! way through the upgrade keeps its distance.

use fleethost_plugin_sdk::kv::FieldValue;
use fleethost_plugin_sdk::record::{self, Decimal, Values, Writer};
use fleethost_plugin_sdk::trip::{self, Trip};

use crate::odometer::{Fix, Odometer};

/// The hash field of the metering.
pub const RECORD: &str = "fare";

const ORDER_ID: &str = "fare_order_id";
const ASSIGNED_MS: &str = "fare_assigned_ms";
const LAST_TS_MS: &str = "fare_last_ts_ms";
const NOW_MS: &str = "fare_now_ms";
const ANCHOR_LAT: &str = "fare_anchor_lat";
const ANCHOR_LNG: &str = "fare_anchor_lng";
const ANCHOR_TS_MS: &str = "fare_anchor_ts_ms";
const DISTANCE_M: &str = "fare_distance_m";
const REGION: &str = "fare_region";

/// The metering of one trip.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metering {
    /// The order metered.
    pub order_id: String,
    /// Event time of the assignment of the trip metered: with the order id,
    /// which trip this is the metering of (an order assigned to the driver
    /// again is a new trip). `None` in a metering written by an earlier
    /// version, which matches any trip of its order.
    pub assigned_ms: Option<i64>,
    /// Event time of the newest fix processed (counted or not): fixes not
    /// newer are skipped, so a redelivered batch adds nothing.
    pub last_ts_ms: Option<i64>,
    /// Event time of the newest fix inside the trip's window: the "now" of the
    /// running duration.
    pub now_ms: Option<i64>,
    pub odometer: Odometer,
    /// Region of the first counted fix (the surge region), when it had one.
    pub region: Option<String>,
}

impl Metering {
    /// An empty metering of `trip`.
    pub fn new(trip: &Trip) -> Self {
        Self {
            order_id: trip.order_id.clone(),
            assigned_ms: Some(trip.assigned_ms),
            ..Self::default()
        }
    }

    /// Whether this is the metering of `trip` (and not of another order, nor
    /// of an earlier trip of the same order).
    pub fn is_of(&self, trip: &Trip) -> bool {
        self.order_id == trip.order_id
            && self
                .assigned_ms
                .is_none_or(|assigned_ms| assigned_ms == trip.assigned_ms)
    }
}

/// One driver's state as stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DriverState {
    /// The current or last trip; `None` for a driver never assigned.
    pub trip: Option<Trip>,
    /// The metering as stored (possibly of an older order).
    pub metering: Option<Metering>,
}

impl DriverState {
    /// Reads the state back from its hash.
    pub fn from_fields(fields: &[FieldValue]) -> Self {
        let values = Values::of(fields, &[trip::RECORD, RECORD]);
        let metering = values
            .text(ORDER_ID)
            .filter(|order_id| !order_id.is_empty())
            .map(|order_id| Metering {
                order_id: order_id.to_string(),
                assigned_ms: values.parse(ASSIGNED_MS),
                last_ts_ms: values.parse(LAST_TS_MS),
                now_ms: values.parse(NOW_MS),
                odometer: Odometer {
                    anchor: (|| {
                        Some(Fix {
                            latitude: values.parse(ANCHOR_LAT)?,
                            longitude: values.parse(ANCHOR_LNG)?,
                            ts_ms: values.parse(ANCHOR_TS_MS)?,
                        })
                    })(),
                    distance_m: values.parse(DISTANCE_M).unwrap_or(0.0),
                },
                region: values
                    .text(REGION)
                    .filter(|region| !region.is_empty())
                    .map(str::to_string),
            });
        Self {
            trip: Trip::from_values(&values),
            metering,
        }
    }

    /// The metering of the current trip (a fresh one when the stored metering
    /// is of another trip, see [`Metering::is_of`], or there is none).
    pub fn current_metering(&self) -> Option<Metering> {
        let trip = self.trip.as_ref()?;
        Some(
            self.metering
                .clone()
                .filter(|metering| metering.is_of(trip))
                .unwrap_or_else(|| Metering::new(trip)),
        )
    }

    /// The metering's fields: the `fare` record (none without metering),
    /// every value written, empty when unset (see [`record::field`]).
    pub fn metering_fields(&self) -> Vec<FieldValue> {
        let Some(metering) = &self.metering else {
            return Vec::new();
        };
        let anchor = metering.odometer.anchor;
        let mut writer = Writer::new();
        writer
            .value(ORDER_ID, &metering.order_id)
            .optional(ASSIGNED_MS, metering.assigned_ms)
            .value(DISTANCE_M, Decimal(metering.odometer.distance_m))
            .optional(LAST_TS_MS, metering.last_ts_ms)
            .optional(NOW_MS, metering.now_ms)
            .optional(ANCHOR_LAT, anchor.map(|fix| Decimal(fix.latitude)))
            .optional(ANCHOR_LNG, anchor.map(|fix| Decimal(fix.longitude)))
            .optional(ANCHOR_TS_MS, anchor.map(|fix| fix.ts_ms))
            .optional(REGION, metering.region.as_ref());
        vec![record::field(RECORD, writer)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleethost_plugin_sdk::Point;
    use fleethost_plugin_sdk::trip::Phase;

    fn trip(order_id: &str) -> Trip {
        let point = Point {
            latitude: 1.0,
            longitude: 2.0,
        };
        Trip {
            order_id: order_id.into(),
            driver_id: "d1".into(),
            phase: Phase::ToDropoff,
            pickup: point,
            dropoff: point,
            assigned_ms: 1,
            picked_up_ms: Some(2),
            ended_ms: None,
        }
    }

    #[test]
    fn state_round_trips_through_fields() {
        let state = DriverState {
            trip: Some(trip("o1")),
            metering: Some(Metering {
                order_id: "o1".into(),
                assigned_ms: Some(1),
                last_ts_ms: Some(9_000),
                now_ms: Some(8_000),
                odometer: Odometer {
                    anchor: Some(Fix {
                        latitude: 12.5,
                        longitude: 77.25,
                        ts_ms: 7_000,
                    }),
                    distance_m: 1234.5,
                },
                region: Some("south".into()),
            }),
        };
        let mut fields = state.trip.as_ref().map(Trip::to_fields).unwrap_or_default();
        fields.extend(state.metering_fields());
        assert_eq!(fields.len(), 2, "a trip record and a fare record");
        assert_eq!(DriverState::from_fields(&fields), state);
        assert_eq!(state.current_metering(), state.metering);
        // A hash of the earlier one-field-per-value layout reads the same, and
        // a new record written next to its stale fields wins.
        let mut legacy = record::unpack(&fields, &[trip::RECORD, RECORD]);
        assert_eq!(DriverState::from_fields(&legacy), state);
        let fresh = DriverState {
            metering: state.trip.as_ref().map(Metering::new),
            ..state.clone()
        };
        legacy.extend(fresh.metering_fields());
        assert_eq!(DriverState::from_fields(&legacy), fresh);
    }

    #[test]
    fn metering_of_another_trip_is_not_used() {
        let metered = |order_id: &str, assigned_ms: Option<i64>| {
            Some(Metering {
                order_id: order_id.into(),
                assigned_ms,
                odometer: Odometer {
                    anchor: None,
                    distance_m: 500.0,
                },
                ..Metering::default()
            })
        };
        let o2 = trip("o2");
        let fresh = Some(Metering::new(&o2));
        // Another order, or an earlier trip of the same order (assigned to
        // the driver again since): a fresh metering.
        for metering in [metered("o1", Some(1)), metered("o2", Some(0))] {
            let state = DriverState {
                trip: Some(o2.clone()),
                metering,
            };
            assert_eq!(state.current_metering(), fresh, "{state:?}");
        }
        // This trip's; or one an earlier version wrote (no assignment time)
        // for this order: kept, a trip under way through an upgrade keeps
        // its distance.
        for metering in [metered("o2", Some(1)), metered("o2", None)] {
            let state = DriverState {
                trip: Some(o2.clone()),
                metering,
            };
            assert_eq!(state.current_metering(), state.metering, "{state:?}");
        }
        assert_eq!(DriverState::default().current_metering(), None);
    }

    #[test]
    fn a_metering_without_assignment_time_still_reads() {
        // The `fare` record as the previous version wrote it.
        let mut writer = Writer::new();
        writer
            .value(ORDER_ID, "o1")
            .value(DISTANCE_M, Decimal(250.0))
            .value(LAST_TS_MS, 9_000);
        let mut fields = trip("o1").to_fields();
        fields.push(record::field(RECORD, writer));
        let state = DriverState::from_fields(&fields);
        let metering = state.current_metering().expect("a trip");
        assert_eq!(
            (metering.assigned_ms, metering.odometer.distance_m, metering.last_ts_ms),
            (None, 250.0, Some(9_000))
        );
    }
}
