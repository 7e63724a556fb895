//! The crossing logic: one driver's fixes against the static fences and the
//! points of the driver's trip, giving the notifications and the new state.
//!
//! Fixes are taken in event-time order (then batch order), as the SDK's
//! [`group`](fleethost_plugin_sdk::group) hands them over; a fix not newer
//! than the last one processed (`last_fix_ms`) is skipped, so a redelivered or
//! late fix emits nothing and cannot undo a crossing.
//!
//! Static fences, one notification per crossing:
//! - `entered` when the driver is inside (a circle: within the radius; a
//!   polygon: strictly inside) and was not;
//! - `exited` when the driver was inside and is now beyond the edge by more than
//!   `hysteresis_m` (a circle: farther than radius + hysteresis from the centre;
//!   a polygon: outside and farther than the hysteresis from its boundary).
//!   Between the edge and edge + hysteresis nothing changes, so a driver
//!   jittering on the boundary gets one `entered` and no `exited`.
//!   A fence removed from the config is forgotten without an `exited`.
//!
//! Order points, for the point the trip was heading to at the fix's event time
//! (pickup from assignment to pickup, drop-off from pickup to delivery or
//! cancellation): `near` within `near_m`, `arrived` within `arrived_m`. Each
//! fires at most once per order and point and never re-arms (a new order has
//! its own); a fix that is within `arrived_m` and had no `near` yet emits both,
//! `near` first, so every order point that gets `arrived` also got `near`.

use fleethost_plugin_sdk::geo::haversine_m;
use fleethost_plugin_sdk::trip::Trip;
use fleethost_plugin_sdk::{Event, Point};

use crate::driver_state::{Approach, DriverState, OrderAlert};
use crate::fence::Fence;
use crate::notification::{Kind, Notification, Subject};
use crate::settings::Thresholds;
use crate::trip_state::stop_at;

/// What a driver's fixes are checked against.
#[derive(Debug, Clone, Copy)]
pub struct Fences<'a> {
    /// The static fences.
    pub fixed: &'a [Fence],
    /// The distances deciding crossings.
    pub thresholds: Thresholds,
}

/// Runs one driver's fixes, in event-time order (as
/// [`group::fixes_by_driver`](fleethost_plugin_sdk::group::fixes_by_driver)
/// gives them), through the fences, updating `state`; returns the
/// notifications in event-time order.
pub fn track_fixes(
    driver_id: &str,
    fixes: &[&Event],
    trip: Option<&Trip>,
    fences: Fences<'_>,
    state: &mut DriverState,
) -> Vec<Notification> {
    state
        .inside
        .retain(|id| fences.fixed.iter().any(|fence| &fence.id == id));
    let mut notifications = Vec::new();
    for fix in fixes {
        if state.last_fix_ms.is_some_and(|last| fix.timestamp_ms <= last) {
            continue;
        }
        state.last_fix_ms = Some(fix.timestamp_ms);
        let position = Point {
            latitude: fix.latitude,
            longitude: fix.longitude,
        };
        let mut notify = |kind: Kind, subject: Subject, distance_m: f64| {
            notifications.push(Notification {
                kind,
                driver_id: driver_id.to_string(),
                subject,
                ts_ms: fix.timestamp_ms,
                distance_m,
            })
        };
        for fence in fences.fixed {
            if !state.inside.contains(&fence.id) {
                if fence.contains(position) {
                    state.inside.insert(fence.id.clone());
                    notify(
                        Kind::Entered,
                        Subject::Fence(fence.id.clone()),
                        fence.reported_distance_m(position),
                    );
                }
            } else if fence.beyond_edge_m(position) > fences.thresholds.hysteresis_m {
                state.inside.remove(&fence.id);
                notify(
                    Kind::Exited,
                    Subject::Fence(fence.id.clone()),
                    fence.reported_distance_m(position),
                );
            }
        }
        let Some(trip) = trip else { continue };
        let Some((stop, target)) = stop_at(trip, fix.timestamp_ms) else {
            continue;
        };
        let distance_m = haversine_m(target, position);
        for (approach, within_m) in [
            (Approach::Near, fences.thresholds.near_m),
            (Approach::Arrived, fences.thresholds.arrived_m),
        ] {
            let alert = OrderAlert::new(approach, stop);
            if distance_m <= within_m && !state.was_sent(alert, &trip.order_id) {
                state.mark_sent(alert, &trip.order_id);
                let order_id = trip.order_id.clone();
                notify(approach.kind(), Subject::Order { order_id, stop }, distance_m);
            }
        }
    }
    notifications
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fence_text::parse_fences;
    use crate::notification::Stop;
    use crate::test_support::{CENTRE, fix, kinds, offset, order};
    use crate::trip_state::apply_order_events;
    use fleethost_plugin_sdk::{OrderKind, group};

    /// A 200 m circle `hub` around [`CENTRE`] and, for polygon tests, a
    /// square `block` of about 1.1 km a side north of it.
    fn static_fences() -> Vec<Fence> {
        parse_fences("hub:circle:12.97,77.59,200; block:polygon:12.98,77.585 12.98,77.595 12.99,77.595 12.99,77.585")
            .expect("valid fences")
    }

    fn run(fixes: &[Event], trip: Option<&Trip>, state: &mut DriverState) -> Vec<Notification> {
        let fixed = static_fences();
        let fences = Fences {
            fixed: &fixed,
            thresholds: Thresholds::default(),
        };
        // Grouped as `batch::group_by_driver` does: in event-time order.
        let fixes = group::fixes_by_driver(fixes).remove("d1").unwrap_or_default();
        track_fixes("d1", &fixes, trip, fences, state)
    }

    /// Fixes of `d1` due east of [`CENTRE`] at the given distances, one per second.
    fn east_of_centre(distances: &[f64]) -> Vec<Event> {
        distances
            .iter()
            .enumerate()
            .map(|(second, metres)| fix("d1", 1_000 * (second as i64 + 1), offset(CENTRE, 90.0, *metres)))
            .collect()
    }

    #[test]
    fn crossing_a_circle_in_and_out_gives_entered_then_exited() {
        let mut state = DriverState::default();
        let notifications = run(
            &east_of_centre(&[400.0, 300.0, 150.0, 50.0, 150.0, 300.0, 400.0]),
            None,
            &mut state,
        );
        assert_eq!(kinds(&notifications), [Kind::Entered, Kind::Exited]);
        assert_eq!(notifications[0].subject, Subject::Fence("hub".into()));
        assert_eq!(notifications[0].ts_ms, 3_000);
        assert!((notifications[0].distance_m - 150.0).abs() < 0.1);
        assert_eq!(notifications[1].ts_ms, 6_000);
        assert!((notifications[1].distance_m - 300.0).abs() < 0.1);
        assert!(state.inside.is_empty());
        assert_eq!(state.last_fix_ms, Some(7_000));
    }

    #[test]
    fn jitter_on_the_boundary_gives_one_entered_and_no_exit() {
        let mut state = DriverState::default();
        let jitter: Vec<f64> = (0..20).map(|i| if i % 2 == 0 { 210.0 } else { 190.0 }).collect();
        let notifications = run(&east_of_centre(&jitter), None, &mut state);
        assert_eq!(kinds(&notifications), [Kind::Entered]);
        assert!(state.inside.contains("hub"));
        // Leaving for good gives one exit, and jitter just outside the
        // hysteresis band enters nothing again.
        let leaving: Vec<Event> = [230.0, 215.0, 235.0, 215.0]
            .iter()
            .enumerate()
            .map(|(i, metres)| fix("d1", 100_000 + i as i64, offset(CENTRE, 90.0, *metres)))
            .collect();
        assert_eq!(kinds(&run(&leaving, None, &mut state)), [Kind::Exited]);
    }

    #[test]
    fn crossing_a_polygon_gives_entered_then_exited_past_the_hysteresis() {
        let mut state = DriverState::default();
        // Along the meridian 77.59, into the square (south edge at 12.98) and out.
        let south_edge = (12.98, 77.59);
        let path = [
            offset(south_edge, 180.0, 100.0),
            offset(south_edge, 0.0, 30.0),
            offset(south_edge, 180.0, 10.0),
            offset(south_edge, 0.0, 5.0),
            offset(south_edge, 180.0, 20.0),
            offset(south_edge, 180.0, 40.0),
        ];
        let fixes: Vec<Event> = path
            .iter()
            .enumerate()
            .map(|(i, point)| fix("d1", 10_000 + i as i64, *point))
            .collect();
        let notifications = run(&fixes, None, &mut state);
        assert_eq!(kinds(&notifications), [Kind::Entered, Kind::Exited]);
        assert_eq!(notifications[0].subject, Subject::Fence("block".into()));
        assert_eq!((notifications[0].ts_ms, notifications[0].distance_m), (10_001, 0.0));
        assert_eq!(notifications[1].ts_ms, 10_005);
        assert!((notifications[1].distance_m - 40.0).abs() < 0.5, "{notifications:?}");
    }

    #[test]
    fn near_and_arrived_fire_once_per_order_point_despite_jitter() {
        let pickup = offset(CENTRE, 180.0, 3_000.0);
        let dropoff = offset(CENTRE, 270.0, 3_000.0);
        let trip = apply_order_events(
            None,
            &[
                order(OrderKind::Assigned, "d1", "o1", 1_000, pickup, dropoff),
                order(OrderKind::PickedUp, "d1", "o1", 50_000, pickup, dropoff),
            ],
        )
        .expect("a trip");
        let mut state = DriverState::default();
        let mut fixes = Vec::new();
        for (i, metres) in [600.0, 490.0, 510.0, 490.0, 60.0, 45.0, 55.0, 45.0, 30.0]
            .iter()
            .enumerate()
        {
            fixes.push(fix("d1", 2_000 + i as i64, offset(pickup, 0.0, *metres)));
        }
        for (i, metres) in [520.0, 480.0, 520.0, 40.0, 60.0, 40.0].iter().enumerate() {
            fixes.push(fix("d1", 60_000 + i as i64, offset(dropoff, 0.0, *metres)));
        }
        let notifications = run(&fixes, Some(&trip), &mut state);
        let seen: Vec<(Kind, Subject, i64)> = notifications
            .iter()
            .map(|n| (n.kind, n.subject.clone(), n.ts_ms))
            .collect();
        let on = |stop| Subject::Order {
            order_id: "o1".into(),
            stop,
        };
        assert_eq!(
            seen,
            [
                (Kind::Near, on(Stop::Pickup), 2_001),
                (Kind::Arrived, on(Stop::Pickup), 2_005),
                (Kind::Near, on(Stop::Dropoff), 60_001),
                (Kind::Arrived, on(Stop::Dropoff), 60_003),
            ]
        );
        assert!((notifications[1].distance_m - 45.0).abs() < 0.1);
        // The same fixes again, and later jitter, send nothing more.
        assert_eq!(run(&fixes, Some(&trip), &mut state), []);
        let later = [
            fix("d1", 70_000, dropoff),
            fix("d1", 70_001, offset(dropoff, 0.0, 400.0)),
        ];
        assert_eq!(run(&later, Some(&trip), &mut state), []);
    }

    #[test]
    fn a_first_fix_already_at_the_point_sends_near_then_arrived() {
        let pickup = offset(CENTRE, 180.0, 3_000.0);
        let trip =
            apply_order_events(None, &[order(OrderKind::Assigned, "d1", "o1", 1_000, pickup, CENTRE)]).expect("a trip");
        let notifications = run(&[fix("d1", 2_000, pickup)], Some(&trip), &mut DriverState::default());
        assert_eq!(kinds(&notifications), [Kind::Near, Kind::Arrived]);
    }

    #[test]
    fn without_a_trip_only_static_fences_notify() {
        // The fixes pass the hub and would be near any order point there.
        let fixes = east_of_centre(&[600.0, 100.0, 0.0, 600.0]);
        let notifications = run(&fixes, None, &mut DriverState::default());
        assert_eq!(kinds(&notifications), [Kind::Entered, Kind::Exited]);
        // A trip assigned after these fixes does not count for them either.
        let trip =
            apply_order_events(None, &[order(OrderKind::Assigned, "d1", "o1", 9_000, CENTRE, CENTRE)]).expect("a trip");
        let notifications = run(&fixes, Some(&trip), &mut DriverState::default());
        assert_eq!(kinds(&notifications), [Kind::Entered, Kind::Exited]);
    }

    #[test]
    fn fixes_count_in_event_time_order_and_late_ones_are_skipped() {
        let mut state = DriverState::default();
        // Delivered out of order: sorted by event time, in then out.
        let mut fixes = east_of_centre(&[400.0, 100.0, 400.0]);
        fixes.reverse();
        assert_eq!(kinds(&run(&fixes, None, &mut state)), [Kind::Entered, Kind::Exited]);
        // A fix older than the last one processed would be inside: skipped.
        let late = fix("d1", 2_500, CENTRE);
        assert_eq!(run(&[late], None, &mut state), []);
        assert!(state.inside.is_empty());
    }

    #[test]
    fn a_fence_removed_from_the_config_is_forgotten() {
        let mut state = DriverState::default();
        state.inside.insert("gone".to_string());
        assert_eq!(run(&east_of_centre(&[5_000.0]), None, &mut state), []);
        assert!(state.inside.is_empty());
    }
}
