//! A batch of location fixes: update each driver's speed and publish the
//! estimates that changed meaningfully.
//!
//! Only drivers with a trip in kv (any phase) are tracked; a driver never
//! assigned costs a read and nothing else. Each driver's new fixes (newer than
//! the last one seen: a redelivered batch changes nothing) are applied in
//! event-time order; one estimate per driver and batch is then made from the
//! newest accepted fix, when the trip is active and the batch moved the
//! driver's position.

use std::collections::BTreeMap;

use fleethost_plugin_sdk::kv::WriteOp;
use fleethost_plugin_sdk::{Event, Plan, group};

use crate::estimate::{Estimate, Sent, estimate, is_meaningful};
use crate::motion::{Fix, Observation};
use crate::plan::{publish, state_key};
use crate::settings::Settings;
use crate::state::DriverState;

/// The fixes of a batch per driver, each driver's in event-time order (batch
/// order on equal times), as the positions the speed is measured from.
pub fn fixes_by_driver(events: &[Event]) -> BTreeMap<&str, Vec<Fix>> {
    group::fixes_by_driver_as(events, |event| Fix {
        latitude: event.latitude,
        longitude: event.longitude,
        ts_ms: event.timestamp_ms,
    })
}

/// What a driver's fixes of one batch did.
#[derive(Debug, Clone, PartialEq)]
pub struct DriverUpdate {
    /// Whether any fix was new (the state must be written back).
    pub changed: bool,
    /// The estimate to publish, if it changed meaningfully.
    pub publish: Option<Estimate>,
}

/// Applies one driver's fixes (in event-time order) to their state; when an
/// estimate is to be published, `state.sent` already records it.
pub fn advance(state: &mut DriverState, fixes: &[Fix], settings: &Settings) -> DriverUpdate {
    let mut changed = false;
    let mut moved = false;
    for fix in fixes {
        match state.motion.observe(*fix, &settings.motion) {
            Observation::Stale => {}
            Observation::Jump => changed = true,
            Observation::First | Observation::Jitter | Observation::Sampled(_) => {
                changed = true;
                moved = true;
            }
        }
    }
    let publish = match (&state.trip, state.motion.position) {
        (Some(trip), Some(position)) if moved => estimate(trip, position, state.motion.speed_mps, &settings.estimate)
            .filter(|next| is_meaningful(state.sent.as_ref(), next, &settings.estimate)),
        _ => None,
    };
    if let Some(estimate) = &publish {
        state.sent = Some(Sent::of(estimate));
    }
    DriverUpdate { changed, publish }
}

/// The writes and messages of a fix batch, given each driver's fixes and their
/// state as read from kv (in the same order): per driver at most the `eta`
/// record (never the trip, which order batches own and write meanwhile) and
/// the published estimate's writes.
pub fn plan_fixes(settings: &Settings, drivers: &BTreeMap<&str, Vec<Fix>>, states: Vec<DriverState>) -> Plan {
    let mut plan = Plan::default();
    for ((driver_id, fixes), mut state) in drivers.iter().zip(states) {
        if state.trip.is_none() {
            continue;
        }
        let update = advance(&mut state, fixes, settings);
        if update.changed {
            plan.writes
                .push(WriteOp::hash_set(&state_key(settings, driver_id), state.eta_fields()));
        }
        if let Some(estimate) = &update.publish {
            publish(&mut plan, settings, estimate);
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleethost_plugin_sdk::PluginConfig;
    use fleethost_plugin_sdk::Point;
    use fleethost_plugin_sdk::geo::destination;
    use fleethost_plugin_sdk::trip::{Phase, Trip};

    fn settings() -> Settings {
        Settings::from_config(&PluginConfig::new(vec![("key_prefix".into(), "t:".into())])).expect("valid")
    }

    const START: (f64, f64) = (12.9, 77.6);

    /// The point `metres` north of `START`.
    fn north(metres: f64) -> (f64, f64) {
        let start = Point {
            latitude: START.0,
            longitude: START.1,
        };
        let point = destination(start, 0.0, metres);
        (point.latitude, point.longitude)
    }

    fn event(metres: f64, ts_ms: i64) -> Event {
        let (latitude, longitude) = north(metres);
        Event {
            driver_id: "d1".into(),
            latitude,
            longitude,
            timestamp_ms: ts_ms,
            region: None,
            order_id: None,
            speed: None,
            heading: None,
            offset: 0,
        }
    }

    /// A trip whose pickup is 3 km north of `START`.
    fn state_on_trip() -> DriverState {
        let (latitude, longitude) = north(3_000.0);
        let pickup = Point { latitude, longitude };
        DriverState {
            trip: Some(Trip {
                order_id: "o1".into(),
                driver_id: "d1".into(),
                phase: Phase::ToPickup,
                pickup,
                dropoff: pickup,
                assigned_ms: 0,
                picked_up_ms: None,
                ended_ms: None,
            }),
            ..DriverState::default()
        }
    }

    /// Feeds `events` batch by batch, carrying the state as kv would.
    fn run(state: &mut DriverState, batches: &[Vec<Event>]) -> Vec<Estimate> {
        let settings = settings();
        let mut published = Vec::new();
        for batch in batches {
            let drivers = fixes_by_driver(batch);
            for fixes in drivers.values() {
                published.extend(advance(state, fixes, &settings).publish);
            }
        }
        published
    }

    #[test]
    fn eta_at_a_constant_speed_is_distance_over_speed() {
        let mut state = state_on_trip();
        // 12 m/s north, one fix a second, in batches of 10 fixes.
        let batches: Vec<Vec<Event>> = (0..10)
            .map(|batch| {
                (0..10)
                    .map(|index| {
                        let second = batch * 10 + index;
                        event(12.0 * second as f64, second * 1000)
                    })
                    .collect()
            })
            .collect();
        let published = run(&mut state, &batches);
        let first = &published[0];
        // The first estimate (from the first batch) already has a measured speed.
        assert!((first.speed_mps - 12.0).abs() < 0.01, "{first:?}");
        let speed = state.motion.speed_mps.expect("measured");
        let position = state.motion.position.expect("a position");
        let remaining = 3_000.0 - 12.0 * 99.0;
        assert!((speed - 12.0).abs() < 1e-6);
        let now = estimate(
            state.trip.as_ref().expect("trip"),
            position,
            Some(speed),
            &settings().estimate,
        )
        .expect("active");
        assert!((now.distance_m - remaining).abs() < 0.5, "{now:?}");
        assert!((now.eta_s as f64 - remaining / 12.0).abs() <= 1.0, "{now:?}");
        // Every published estimate is distance / speed of its own moment.
        for estimate in &published {
            assert!((estimate.eta_s as f64 - estimate.distance_m / estimate.speed_mps).abs() <= 1.0);
        }
    }

    #[test]
    fn estimates_are_published_only_on_meaningful_change() {
        let mut state = state_on_trip();
        // 10 m/s, one fix a second, one batch per fix: 100 batches.
        let batches: Vec<Vec<Event>> = (0..100)
            .map(|second| vec![event(10.0 * second as f64, second * 1000)])
            .collect();
        let published = run(&mut state, &batches);
        // The first fix gives an estimate at the default speed, later ones are
        // published only when the ETA moved by >= 15 s and >= 10 %.
        assert_eq!(published[0].speed_mps, 5.0);
        assert!(published.len() < 12, "{} estimates for 100 fixes", published.len());
        for pair in published.windows(2) {
            let change = (pair[1].eta_s - pair[0].eta_s).abs();
            assert!(change >= 15 && change as f64 >= 0.1 * pair[0].eta_s as f64, "{pair:?}");
        }
    }

    #[test]
    fn a_redelivered_batch_changes_nothing() {
        let settings = settings();
        let mut state = state_on_trip();
        let batch = vec![event(0.0, 0), event(10.0, 1_000), event(20.0, 2_000)];
        let drivers = fixes_by_driver(&batch);
        let first = plan_fixes(&settings, &drivers, vec![state.clone()]);
        assert_eq!(first.messages.len(), 1);
        assert_eq!(first.writes.len(), 4, "state, eta hash, expiry, live message");
        let WriteOp::HashSet(written) = &first.writes[0] else {
            panic!("the state comes first");
        };
        let mut fields = written.fields.clone();
        fields.extend(state.trip.as_ref().expect("trip").to_fields());
        state = DriverState::from_fields(&fields);
        let again = plan_fixes(&settings, &drivers, vec![state]);
        assert!(again.writes.is_empty() && again.messages.is_empty(), "{again:?}");
    }

    #[test]
    fn a_fix_batch_writes_only_the_eta_record_and_never_deletes_the_hash() {
        let settings = settings();
        let batch = vec![event(0.0, 0), event(10.0, 1_000), event(20.0, 2_000)];
        let drivers = fixes_by_driver(&batch);
        let mut picked_up = state_on_trip();
        let mut delivered = state_on_trip();
        if let (Some(picked_up), Some(delivered)) = (picked_up.trip.as_mut(), delivered.trip.as_mut()) {
            picked_up.phase = Phase::ToDropoff;
            delivered.phase = Phase::Delivered;
        }
        for state in [state_on_trip(), picked_up, delivered] {
            let plan = plan_fixes(&settings, &drivers, vec![state]);
            let to_state: Vec<&WriteOp> = plan
                .writes
                .iter()
                .filter(|write| match write {
                    WriteOp::HashSet(set) => set.key == "t:eta:trip:d1",
                    WriteOp::Delete(key) => key == "t:eta:trip:d1",
                    _ => false,
                })
                .collect();
            assert_eq!(to_state.len(), 1, "one write of the state per batch: {plan:?}");
            let WriteOp::HashSet(set) = to_state[0] else {
                panic!("the state hash is never deleted: {plan:?}");
            };
            let names: Vec<&str> = set.fields.iter().map(|field| field.field.as_str()).collect();
            assert_eq!(
                names,
                [crate::state::RECORD],
                "only the eta record, never `trip`: {plan:?}"
            );
        }
    }

    #[test]
    fn the_same_order_assigned_again_is_a_new_trip_with_a_first_estimate() {
        let settings = settings();
        // The estimate last published was for o1 assigned at 0; o1 is now
        // assigned again (after another order), at 10 s.
        let mut state = state_on_trip();
        let fixes = [Fix {
            latitude: START.0,
            longitude: START.1,
            ts_ms: 20_000,
        }];
        let first = advance(&mut state.clone(), &fixes, &settings)
            .publish
            .expect("a first estimate");
        state.sent = Some(Sent::of(&first));
        if let Some(trip) = state.trip.as_mut() {
            trip.assigned_ms = 10_000;
        }
        let again = advance(&mut state, &fixes, &settings);
        assert_eq!(
            again.publish.map(|estimate| (estimate.eta_s, estimate.assigned_ms)),
            Some((first.eta_s, 10_000))
        );
    }

    #[test]
    fn drivers_without_a_trip_or_ended_trips_publish_nothing() {
        let settings = settings();
        let batch = vec![event(0.0, 0), event(10.0, 1_000)];
        let drivers = fixes_by_driver(&batch);
        let untracked = plan_fixes(&settings, &drivers, vec![DriverState::default()]);
        assert!(untracked.writes.is_empty() && untracked.messages.is_empty());
        let mut delivered = state_on_trip();
        if let Some(trip) = delivered.trip.as_mut() {
            trip.phase = Phase::Delivered;
        }
        let plan = plan_fixes(&settings, &drivers, vec![delivered]);
        assert_eq!(
            (plan.writes.len(), plan.messages.len()),
            (1, 0),
            "only the speed is kept"
        );
    }

    #[test]
    fn the_message_carries_every_field() {
        let settings = settings();
        let plan = plan_fixes(&settings, &fixes_by_driver(&[event(0.0, 7_000)]), vec![state_on_trip()]);
        let message = &plan.messages[0];
        assert_eq!(
            (message.topic.as_str(), message.key.as_deref()),
            ("eta-updates", Some("o1"))
        );
        let text = String::from_utf8(message.payload.clone()).expect("utf-8");
        assert!(
            text.starts_with(r#"{"order_id":"o1","driver_id":"d1","phase":"to_pickup","distance_m":3000"#),
            "{text}"
        );
        assert!(text.ends_with(r#","speed_mps":5,"eta_s":600,"ts_ms":7000}"#), "{text}");
        assert!(matches!(&plan.writes[2], WriteOp::Expire((key, 3_600_000)) if key == "t:eta:o1"));
    }

    #[test]
    fn a_published_estimate_goes_to_the_orders_estimates_channel_too() {
        let settings = settings();
        let plan = plan_fixes(&settings, &fixes_by_driver(&[event(0.0, 7_000)]), vec![state_on_trip()]);
        let eta_message = String::from_utf8(plan.messages[0].payload.clone()).expect("utf-8");
        let live: Vec<_> = plan
            .writes
            .iter()
            .filter_map(|write| match write {
                WriteOp::Publish(publish) => Some(publish),
                _ => None,
            })
            .collect();
        assert_eq!(live.len(), 1, "one live message per published estimate: {plan:?}");
        assert_eq!(live[0].channel, "t:live:eta:o1");
        // The eta-updates message's fields, after a leading "type":"eta".
        let fields = eta_message.strip_prefix('{').expect("an object");
        assert_eq!(live[0].message, format!(r#"{{"type":"eta",{fields}"#));
        // An estimate that is not published (no meaningful change) sends none.
        let mut state = state_on_trip();
        let first = advance(
            &mut state,
            &[Fix {
                latitude: 12.9,
                longitude: 77.6,
                ts_ms: 0,
            }],
            &settings,
        );
        assert!(first.publish.is_some());
        let jitter = [event(1.0, 1_000)];
        let quiet_drivers = fixes_by_driver(&jitter);
        let quiet = plan_fixes(&settings, &quiet_drivers, vec![state]);
        assert!(quiet.messages.is_empty(), "{quiet:?}");
        assert!(
            !quiet.writes.iter().any(|write| matches!(write, WriteOp::Publish(_))),
            "{quiet:?}"
        );
    }
}
