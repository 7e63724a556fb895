//! What the fare plugin keeps per driver in kv, and how it maps to hash fields.
//!
//! One hash `{key_prefix}fare:trip:{driver_id}` holds two
//! [records](fleethost_plugin_sdk::record): `trip`, the driver's trip (the
//! SDK's), and `fare`, the metering of that trip (`fare_order_id`,
//! `fare_last_ts_ms`, `fare_now_ms`, `fare_anchor_lat`/`_lng`/`_ts_ms`,
//! `fare_distance_m`, `fare_region`). The metering carries its order id:
//! values a late fix batch writes for an order that has since been replaced
//! are then simply not used. Earlier versions kept each value in its own
//! field; such hashes still read.

use fleethost_plugin_sdk::kv::FieldValue;
use fleethost_plugin_sdk::record::{self, Decimal, Values, Writer};
use fleethost_plugin_sdk::trip::{self, Trip};

use crate::odometer::{Fix, Odometer};

/// The hash field of the metering.
pub const RECORD: &str = "fare";

const ORDER_ID: &str = "fare_order_id";
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
    /// An empty metering of `order_id`.
    pub fn new(order_id: &str) -> Self {
        Self {
            order_id: order_id.to_string(),
            ..Self::default()
        }
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
    /// belongs to another order or there is none).
    pub fn current_metering(&self) -> Option<Metering> {
        let trip = self.trip.as_ref()?;
        Some(
            self.metering
                .clone()
                .filter(|metering| metering.order_id == trip.order_id)
                .unwrap_or_else(|| Metering::new(&trip.order_id)),
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
            metering: Some(Metering::new("o1")),
            ..state.clone()
        };
        legacy.extend(fresh.metering_fields());
        assert_eq!(DriverState::from_fields(&legacy), fresh);
    }

    #[test]
    fn metering_of_another_order_is_not_used() {
        let state = DriverState {
            trip: Some(trip("o2")),
            metering: Some(Metering {
                odometer: Odometer {
                    anchor: None,
                    distance_m: 500.0,
                },
                ..Metering::new("o1")
            }),
        };
        assert_eq!(state.current_metering(), Some(Metering::new("o2")));
        assert_eq!(DriverState::default().current_metering(), None);
    }
}
