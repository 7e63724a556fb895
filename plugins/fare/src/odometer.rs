//! The distance a driver covers, added up along their fixes.
//!
//! Summing the distance between consecutive raw fixes overcounts: GPS jitter
//! of a parked driver adds metres every second and one bad fix adds kilometres
//! twice (there and back). The odometer therefore measures from an *anchor*,
//! the last counted fix, and counts a move only when it is long enough to be
//! real and slow enough to be possible; see [`Odometer::count`].

use fleethost_plugin_sdk::Point;
use fleethost_plugin_sdk::geo::haversine_m;

/// One position of a driver at one event time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    /// WGS84 latitude in degrees.
    pub latitude: f64,
    /// WGS84 longitude in degrees.
    pub longitude: f64,
    /// Event time in milliseconds since the Unix epoch.
    pub ts_ms: i64,
}

impl Fix {
    /// Great-circle (haversine, mean Earth radius 6 371 008.8 m) distance in metres.
    pub fn distance_to(&self, other: &Fix) -> f64 {
        haversine_m(self.point(), other.point())
    }

    /// Where the fix was.
    fn point(&self) -> Point {
        Point {
            latitude: self.latitude,
            longitude: self.longitude,
        }
    }
}

/// Thresholds of the odometer (from the plugin config).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OdometerRules {
    /// Moves shorter than this (metres) from the anchor are not counted (yet).
    pub jitter_m: f64,
    /// A move implying more than this speed (m/s) is a bad fix.
    pub max_speed_mps: f64,
}

/// What one fix did to the odometer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step {
    /// The first counted fix: it becomes the anchor.
    First,
    /// Closer than `jitter_m` to the anchor: not counted, anchor kept.
    Jitter,
    /// Faster than `max_speed_mps` from the anchor: skipped, anchor kept.
    Jump,
    /// The metres added; the fix is the new anchor.
    Counted(f64),
}

/// Distance driven so far and where it was last counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Odometer {
    /// The last counted fix.
    pub anchor: Option<Fix>,
    /// Metres counted so far.
    pub distance_m: f64,
}

impl Odometer {
    /// Takes one fix (in event-time order) into account. With `d` the haversine
    /// distance from the anchor and `dt` the seconds since it:
    /// without an anchor the fix becomes the anchor; `d < jitter_m` is not
    /// counted (the anchor stays, so slow movement adds up once it reaches
    /// `jitter_m`); `dt <= 0` or `d / dt > max_speed_mps` is skipped (the
    /// anchor stays); otherwise `d` is added and the fix becomes the anchor.
    pub fn count(&mut self, fix: Fix, rules: &OdometerRules) -> Step {
        let Some(anchor) = self.anchor else {
            self.anchor = Some(fix);
            return Step::First;
        };
        let distance = anchor.distance_to(&fix);
        let seconds = (fix.ts_ms - anchor.ts_ms) as f64 / 1000.0;
        if distance < rules.jitter_m {
            return Step::Jitter;
        }
        if seconds <= 0.0 || distance / seconds > rules.max_speed_mps {
            return Step::Jump;
        }
        self.distance_m += distance;
        self.anchor = Some(fix);
        Step::Counted(distance)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleethost_plugin_sdk::geo::destination;

    const RULES: OdometerRules = OdometerRules {
        jitter_m: 5.0,
        max_speed_mps: 70.0,
    };

    /// The fix `metres` east of (12.9, 77.6) at `seconds`.
    fn east(metres: f64, seconds: i64) -> Fix {
        let start = Point {
            latitude: 12.9,
            longitude: 77.6,
        };
        let point = destination(start, 90.0, metres);
        Fix {
            latitude: point.latitude,
            longitude: point.longitude,
            ts_ms: seconds * 1000,
        }
    }

    fn drive(fixes: &[Fix]) -> Odometer {
        let mut odometer = Odometer::default();
        for fix in fixes {
            odometer.count(*fix, &RULES);
        }
        odometer
    }

    #[test]
    fn a_straight_drive_counts_its_length() {
        let fixes: Vec<Fix> = (0..=10).map(|step| east(100.0 * step as f64, step * 10)).collect();
        assert!((drive(&fixes).distance_m - 1_000.0).abs() < 1e-6);
    }

    #[test]
    fn jitter_around_a_stop_counts_nothing() {
        let wobble = [0.0, 3.0, -2.0, 4.0, -4.0, 1.0, 0.5];
        let fixes: Vec<Fix> = wobble
            .iter()
            .zip(0..)
            .map(|(metres, second)| east(*metres, second))
            .collect();
        assert_eq!(drive(&fixes).distance_m, 0.0);
    }

    #[test]
    fn slow_movement_adds_up_from_the_anchor() {
        // 2 m every second: the 3rd, 6th and 9th fix are counted (6 m each).
        let fixes: Vec<Fix> = (0..=9).map(|step| east(2.0 * step as f64, step)).collect();
        let odometer = drive(&fixes);
        assert!((odometer.distance_m - 18.0).abs() < 1e-6, "{odometer:?}");
    }

    #[test]
    fn an_impossible_jump_is_skipped_and_the_anchor_kept() {
        let mut odometer = Odometer::default();
        odometer.count(east(0.0, 0), &RULES);
        assert_eq!(odometer.count(east(3_000.0, 10), &RULES), Step::Jump);
        assert_eq!(odometer.anchor, Some(east(0.0, 0)));
        odometer.count(east(200.0, 20), &RULES);
        assert!((odometer.distance_m - 200.0).abs() < 1e-6);
    }
}
