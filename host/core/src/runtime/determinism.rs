//! A fixed clock and seeded randomness for an instance, so that the same
//! batches give the same host calls on every run: what makes `fleethost
//! test` output comparable with a golden file, and a replay bit for bit.

use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtxBuilder};

/// What an instance's clocks and random numbers are made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Determinism {
    /// What `wasi:clocks/wall-clock` answers, in milliseconds since the Unix
    /// epoch; it does not advance (and the monotonic clock stays at 0).
    pub now_ms: i64,
    /// Seed of both `wasi:random` generators and the insecure seed.
    pub seed: u64,
}

impl Determinism {
    /// `builder` with the fixed clocks and the seeded generators.
    pub fn apply(self, builder: &mut WasiCtxBuilder) {
        builder
            .wall_clock(FixedWallClock(Duration::from_millis(self.now_ms.max(0) as u64)))
            .monotonic_clock(FixedMonotonicClock)
            .secure_random(StdRng::seed_from_u64(self.seed))
            .insecure_random(StdRng::seed_from_u64(self.seed.wrapping_add(1)))
            .insecure_random_seed(u128::from(self.seed));
    }
}

/// A wall clock that always answers the same time.
struct FixedWallClock(Duration);

impl HostWallClock for FixedWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }

    fn now(&self) -> Duration {
        self.0
    }
}

/// A monotonic clock that never advances.
struct FixedMonotonicClock;

impl HostMonotonicClock for FixedMonotonicClock {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        0
    }
}
