//! How fast a driver is moving, measured from their own fixes.
//!
//! The fixes' optional `speed` field is not used: not every sender gives it, and
//! a speed measured the same way for every driver keeps the estimates
//! comparable. Raw distance / time between consecutive fixes is noisy (GPS
//! jitter makes a parked driver "move", a bad fix jumps kilometres), so the
//! speed here is sampled between an *anchor* and the newest fix and smoothed
//! exponentially; see [`Motion::observe`] for the exact rule.

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
    pub fn distance_to(&self, latitude: f64, longitude: f64) -> f64 {
        haversine_m(self.point(), Point { latitude, longitude })
    }

    /// Where the fix was.
    fn point(&self) -> Point {
        Point {
            latitude: self.latitude,
            longitude: self.longitude,
        }
    }
}

/// Thresholds of the speed measurement (from the plugin config).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MotionRules {
    /// Moves shorter than this (metres) from the anchor are GPS jitter, not motion.
    pub jitter_m: f64,
    /// A move implying more than this speed (m/s) is a bad fix and is ignored.
    pub max_speed_mps: f64,
    /// After this many seconds without a move of `jitter_m`, the driver counts
    /// as stopped: a speed sample of 0 is taken.
    pub stop_window_s: f64,
    /// Time constant (seconds) of the exponential smoothing.
    pub smoothing_s: f64,
}

/// What one fix did to the measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Observation {
    /// Not newer than the newest fix already seen (a redelivery): ignored.
    Stale,
    /// The driver's first fix: it becomes the anchor and the position.
    First,
    /// Less than `jitter_m` from the anchor, within the stop window: the
    /// position moves, the anchor and the speed stay.
    Jitter,
    /// A speed sample (m/s) was taken and folded into the smoothed speed.
    Sampled(f64),
    /// The move from the anchor implies more than `max_speed_mps`: ignored.
    Jump,
}

/// A driver's speed measurement, kept between batches (in kv).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Motion {
    /// Event time of the newest fix seen, whatever was done with it.
    pub last_ts_ms: Option<i64>,
    /// The newest fix that was not a jump: where the driver is.
    pub position: Option<Fix>,
    /// Where the current speed sample starts.
    pub anchor: Option<Fix>,
    /// Smoothed speed in m/s; `None` until the first sample.
    pub speed_mps: Option<f64>,
}

impl Motion {
    /// Takes one fix into account. Fixes must come in event-time order.
    ///
    /// With `d` the haversine distance from the anchor to the fix and `dt` the
    /// seconds between them:
    /// 1. a fix not newer than `last_ts_ms` is [`Observation::Stale`];
    /// 2. without an anchor the fix becomes anchor and position;
    /// 3. `d < jitter_m`: the position moves to the fix; when `dt >= stop_window_s`
    ///    a sample of 0 m/s is taken (the driver stands still), otherwise nothing else;
    /// 4. `d / dt > max_speed_mps`: a jump, ignored (anchor and position stay);
    /// 5. otherwise a sample of `d / dt` m/s is taken.
    ///
    /// A sample becomes the speed when there is none yet, otherwise
    /// `speed += (1 - exp(-dt / smoothing_s)) * (sample - speed)`; the fix then
    /// becomes the anchor.
    pub fn observe(&mut self, fix: Fix, rules: &MotionRules) -> Observation {
        if self.last_ts_ms.is_some_and(|last| fix.ts_ms <= last) {
            return Observation::Stale;
        }
        self.last_ts_ms = Some(fix.ts_ms);
        let Some(anchor) = self.anchor else {
            self.anchor = Some(fix);
            self.position = Some(fix);
            return Observation::First;
        };
        let distance = anchor.distance_to(fix.latitude, fix.longitude);
        let seconds = (fix.ts_ms - anchor.ts_ms) as f64 / 1000.0;
        let sample = if distance < rules.jitter_m {
            self.position = Some(fix);
            if seconds < rules.stop_window_s {
                return Observation::Jitter;
            }
            0.0
        } else if seconds <= 0.0 || distance / seconds > rules.max_speed_mps {
            return Observation::Jump;
        } else {
            distance / seconds
        };
        self.position = Some(fix);
        self.anchor = Some(fix);
        let weight = 1.0 - (-seconds / rules.smoothing_s).exp();
        self.speed_mps = Some(match self.speed_mps {
            None => sample,
            Some(speed) => speed + weight * (sample - speed),
        });
        Observation::Sampled(sample)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleethost_plugin_sdk::geo::destination;

    const RULES: MotionRules = MotionRules {
        jitter_m: 5.0,
        max_speed_mps: 70.0,
        stop_window_s: 10.0,
        smoothing_s: 20.0,
    };

    /// The fix `metres` north of (12.9, 77.6) at `seconds`.
    fn north(metres: f64, seconds: f64) -> Fix {
        let start = Point {
            latitude: 12.9,
            longitude: 77.6,
        };
        let point = destination(start, 0.0, metres);
        Fix {
            latitude: point.latitude,
            longitude: point.longitude,
            ts_ms: (seconds * 1000.0) as i64,
        }
    }

    #[test]
    fn constant_speed_is_measured_exactly() {
        let mut motion = Motion::default();
        assert_eq!(motion.observe(north(0.0, 0.0), &RULES), Observation::First);
        for second in 1..=30 {
            motion.observe(north(8.0 * f64::from(second), f64::from(second)), &RULES);
        }
        let speed = motion.speed_mps.expect("a speed after 30 fixes");
        assert!((speed - 8.0).abs() < 1e-6, "speed {speed}");
    }

    #[test]
    fn jitter_below_the_threshold_is_not_motion() {
        let mut motion = Motion::default();
        motion.observe(north(0.0, 0.0), &RULES);
        for second in 1..10 {
            let wobble = if second % 2 == 0 { 3.0 } else { -3.0 };
            assert_eq!(
                motion.observe(north(wobble, f64::from(second)), &RULES),
                Observation::Jitter
            );
        }
        assert_eq!(motion.speed_mps, None);
        assert_eq!(motion.anchor, Some(north(0.0, 0.0)));
    }

    #[test]
    fn slow_movement_adds_up_from_the_anchor() {
        let mut motion = Motion::default();
        motion.observe(north(0.0, 0.0), &RULES);
        let observations: Vec<_> = (1..=6)
            .map(|second| motion.observe(north(1.5 * f64::from(second), f64::from(second)), &RULES))
            .collect();
        assert_eq!(observations[..3], [Observation::Jitter; 3]);
        let Observation::Sampled(sample) = observations[3] else {
            panic!("the fourth move reaches 6 m: {observations:?}");
        };
        assert!((sample - 1.5).abs() < 1e-6);
    }

    #[test]
    fn a_stop_decays_the_speed_towards_zero() {
        let mut motion = Motion::default();
        for second in 0..=10 {
            motion.observe(north(10.0 * f64::from(second), f64::from(second)), &RULES);
        }
        for second in 11..=70 {
            motion.observe(north(100.0, f64::from(second)), &RULES);
        }
        let speed = motion.speed_mps.expect("a speed");
        // Six stop samples of 10 s each: 10 * exp(-60 / 20).
        assert!((speed - 10.0 * (-3.0f64).exp()).abs() < 1e-6, "speed {speed}");
    }

    #[test]
    fn an_impossible_jump_is_ignored() {
        let mut motion = Motion::default();
        motion.observe(north(0.0, 0.0), &RULES);
        motion.observe(north(10.0, 1.0), &RULES);
        assert_eq!(motion.observe(north(5_000.0, 2.0), &RULES), Observation::Jump);
        assert_eq!(motion.position, Some(north(10.0, 1.0)));
        let Observation::Sampled(sample) = motion.observe(north(20.0, 3.0), &RULES) else {
            panic!("the next good fix is measured from the anchor");
        };
        assert!((sample - 5.0).abs() < 1e-6, "sample {sample}");
    }

    #[test]
    fn a_fix_not_newer_than_the_last_is_stale() {
        let mut motion = Motion::default();
        motion.observe(north(0.0, 5.0), &RULES);
        assert_eq!(motion.observe(north(50.0, 5.0), &RULES), Observation::Stale);
        assert_eq!(motion.observe(north(50.0, 4.0), &RULES), Observation::Stale);
    }
}
