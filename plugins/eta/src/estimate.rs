//! The ETA of one trip from the driver's position and speed, and the rule that
//! decides whether a new estimate is worth publishing.
//!
//! The remaining distance is the straight (haversine) line to the target times
//! `route_factor`: no road network is consulted, so on winding roads the
//! estimate is optimistic unless the factor is raised (1.3–1.4 is typical for
//! cities). Publishing every small change would flood consumers with
//! estimates that differ by a second, hence [`is_meaningful`].

use fleethost_plugin_sdk::trip::{Phase, Trip};

use crate::motion::Fix;

/// Parameters of the estimate (from the plugin config).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EstimateRules {
    /// Multiplier from the straight-line distance to the distance driven.
    pub route_factor: f64,
    /// Speed (m/s) assumed before the driver's speed has been measured.
    pub default_speed_mps: f64,
    /// Lowest speed (m/s) an estimate uses, so that a stopped driver does not
    /// get an infinite ETA.
    pub min_speed_mps: f64,
    /// An ETA must move by at least this many seconds to be published again…
    pub min_change_s: f64,
    /// …and by at least this fraction of the last published ETA.
    pub min_change_ratio: f64,
}

/// One estimate of one trip, as published.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub order_id: String,
    /// Event time of the trip's assignment: with the order id, which trip
    /// this estimates (an order assigned to the driver again later is a new
    /// trip). Kept in [`Sent`], not published.
    pub assigned_ms: i64,
    pub driver_id: String,
    /// `ToPickup` or `ToDropoff`.
    pub phase: Phase,
    /// Remaining distance in metres, rounded to 0.1 m.
    pub distance_m: f64,
    /// The speed the ETA was computed with (m/s, after the default and the
    /// floor), rounded to 0.01 m/s.
    pub speed_mps: f64,
    /// Seconds to the target, rounded to whole seconds.
    pub eta_s: i64,
    /// Event time of the fix the estimate starts from.
    pub ts_ms: i64,
}

/// The ETA of `trip` for a driver at `position` moving at `speed_mps` (the
/// smoothed speed, `None` when not measured yet); `None` when the trip is not
/// active.
///
/// `distance = haversine(position, target) * route_factor`,
/// `speed = max(speed_mps or default_speed_mps, min_speed_mps)`,
/// `eta_s = round(distance / speed)`.
pub fn estimate(trip: &Trip, position: Fix, speed_mps: Option<f64>, rules: &EstimateRules) -> Option<Estimate> {
    let target = trip.target()?;
    let distance = position.distance_to(target.latitude, target.longitude) * rules.route_factor;
    let speed = speed_mps.unwrap_or(rules.default_speed_mps).max(rules.min_speed_mps);
    Some(Estimate {
        order_id: trip.order_id.clone(),
        assigned_ms: trip.assigned_ms,
        driver_id: trip.driver_id.clone(),
        phase: trip.phase,
        distance_m: (distance * 10.0).round() / 10.0,
        speed_mps: (speed * 100.0).round() / 100.0,
        eta_s: (distance / speed).round() as i64,
        ts_ms: position.ts_ms,
    })
}

/// The last estimate published for a driver, kept to judge the next one.
///
/// It names the trip it was for (order id and assignment time) and its
/// phase: only an estimate of that same trip and phase is judged against it.
/// A fix batch writes it; order batches leave it alone (they write only the
/// trip), so after a new assignment it still names the old trip and is
/// simply not used.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    pub order_id: String,
    /// Event time of the trip's assignment.
    pub assigned_ms: i64,
    pub phase: Phase,
    pub eta_s: i64,
}

impl Sent {
    /// What to remember of a published estimate.
    pub fn of(estimate: &Estimate) -> Self {
        Self {
            order_id: estimate.order_id.clone(),
            assigned_ms: estimate.assigned_ms,
            phase: estimate.phase,
            eta_s: estimate.eta_s,
        }
    }
}

/// Whether `next` should be published after `last`: when nothing was
/// published for this trip (order id and assignment time) and phase yet, or
/// when the ETA moved by at least `min_change_s` seconds AND by at least
/// `min_change_ratio` times the last published ETA.
pub fn is_meaningful(last: Option<&Sent>, next: &Estimate, rules: &EstimateRules) -> bool {
    let same_trip = |last: &&Sent| {
        last.order_id == next.order_id && last.assigned_ms == next.assigned_ms && last.phase == next.phase
    };
    let Some(last) = last.filter(same_trip) else {
        return true;
    };
    let change = (next.eta_s - last.eta_s).abs() as f64;
    change >= rules.min_change_s && change >= rules.min_change_ratio * last.eta_s as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleethost_plugin_sdk::Point;

    const RULES: EstimateRules = EstimateRules {
        route_factor: 1.0,
        default_speed_mps: 5.0,
        min_speed_mps: 2.0,
        min_change_s: 15.0,
        min_change_ratio: 0.1,
    };

    fn trip(phase: Phase) -> Trip {
        Trip {
            order_id: "o1".into(),
            driver_id: "d1".into(),
            phase,
            pickup: Point {
                latitude: 12.91,
                longitude: 77.6,
            },
            dropoff: Point {
                latitude: 12.95,
                longitude: 77.6,
            },
            assigned_ms: 0,
            picked_up_ms: None,
            ended_ms: None,
        }
    }

    const START: Fix = Fix {
        latitude: 12.9,
        longitude: 77.6,
        ts_ms: 42,
    };

    fn estimate_with(eta_s: i64, phase: Phase) -> Estimate {
        Estimate {
            order_id: "o1".into(),
            assigned_ms: 0,
            driver_id: "d1".into(),
            phase,
            distance_m: 0.0,
            speed_mps: 1.0,
            eta_s,
            ts_ms: 0,
        }
    }

    #[test]
    fn eta_is_distance_over_speed_to_the_current_target() {
        // 0.01 degree of latitude is 1111.95 m on the mean-radius sphere.
        let to_pickup = estimate(&trip(Phase::ToPickup), START, Some(10.0), &RULES).expect("active");
        assert!((to_pickup.distance_m - 1112.0).abs() < 0.1, "{to_pickup:?}");
        assert_eq!((to_pickup.eta_s, to_pickup.speed_mps, to_pickup.ts_ms), (111, 10.0, 42));
        let to_dropoff = estimate(&trip(Phase::ToDropoff), START, Some(10.0), &RULES).expect("active");
        assert_eq!(to_dropoff.eta_s, 556);
        let winding = RULES.route_factor * 1.5;
        let longer = estimate(
            &trip(Phase::ToPickup),
            START,
            Some(10.0),
            &EstimateRules {
                route_factor: winding,
                ..RULES
            },
        )
        .expect("active");
        assert_eq!(longer.eta_s, 167);
        assert_eq!(estimate(&trip(Phase::Delivered), START, Some(10.0), &RULES), None);
    }

    #[test]
    fn unknown_and_tiny_speeds_use_the_default_and_the_floor() {
        let unknown = estimate(&trip(Phase::ToPickup), START, None, &RULES).expect("active");
        assert_eq!((unknown.speed_mps, unknown.eta_s), (5.0, 222));
        let stopped = estimate(&trip(Phase::ToPickup), START, Some(0.0), &RULES).expect("active");
        assert_eq!((stopped.speed_mps, stopped.eta_s), (2.0, 556));
    }

    #[test]
    fn only_meaningful_changes_are_published() {
        let last = Sent::of(&estimate_with(300, Phase::ToPickup));
        // 20 s is more than 15 s but less than 10 % of 300 s.
        assert!(!is_meaningful(
            Some(&last),
            &estimate_with(280, Phase::ToPickup),
            &RULES
        ));
        assert!(is_meaningful(Some(&last), &estimate_with(270, Phase::ToPickup), &RULES));
        assert!(is_meaningful(Some(&last), &estimate_with(330, Phase::ToPickup), &RULES));
        // 10 % of 100 s is 10 s, but the change must also reach 15 s.
        let near = Sent::of(&estimate_with(100, Phase::ToPickup));
        assert!(!is_meaningful(Some(&near), &estimate_with(88, Phase::ToPickup), &RULES));
        assert!(is_meaningful(Some(&near), &estimate_with(85, Phase::ToPickup), &RULES));
        // A new phase, a new order or no estimate yet is always published.
        assert!(is_meaningful(
            Some(&last),
            &estimate_with(300, Phase::ToDropoff),
            &RULES
        ));
        let other_order = Sent {
            order_id: "o0".into(),
            ..last.clone()
        };
        assert!(is_meaningful(
            Some(&other_order),
            &estimate_with(300, Phase::ToPickup),
            &RULES
        ));
        // The same order assigned to the driver again (after another one) is
        // a new trip: its first estimate is published.
        let earlier_trip = Sent {
            assigned_ms: -1_000,
            ..last.clone()
        };
        assert!(is_meaningful(
            Some(&earlier_trip),
            &estimate_with(300, Phase::ToPickup),
            &RULES
        ));
        assert!(is_meaningful(None, &estimate_with(300, Phase::ToPickup), &RULES));
    }
}
