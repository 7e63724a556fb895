//! Where an instance's clocks and random numbers come from. A live instance
//! reads the real ones; a test's are fixed; a recorded instance reads the
//! real clocks, tapes every reading, and draws its random numbers from seeds
//! the recording keeps; a replayed instance answers both from the recording.
//! With the host calls' answers (the tape), that is everything from outside
//! a sandboxed plugin can see, so a replay runs it again bit for bit.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtxBuilder};

use super::determinism::Determinism;
use super::tape::{HostCall, Tape};
use super::tape_replay::{ReplayedMonotonicClock, ReplayedWallClock, TapeReplay};

/// What an instance's clocks and random numbers are made of.
#[derive(Debug, Clone, Default)]
pub enum Inputs {
    /// The real clocks and the operating system's randomness.
    #[default]
    Live,
    /// A fixed clock and seeded randomness (`fleethost test`).
    Fixed(Determinism),
    /// The real clocks, each reading written to the instance's tape, and
    /// randomness from `Seeds` (`fleethost record`).
    Recorded(Seeds),
    /// Clock readings from a recorded tape and randomness from its seeds
    /// (`fleethost test --replay`).
    Replayed(Seeds, TapeReplay),
}

/// The seeds of a recorded instance's random generators: drawn from the
/// operating system when the recording starts, kept with it so that a replay
/// draws the same numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seeds {
    /// Seed of `wasi:random/random` (ChaCha, as the host's own generator), hex.
    pub secure: String,
    /// Seed of `wasi:random/insecure`, hex.
    pub insecure: String,
    /// The answer of `wasi:random/insecure-seed`, as a decimal string (JSON
    /// numbers lose precision beyond 2^53).
    pub insecure_seed: String,
}

/// Why recorded seeds cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("recording.json: seeds.{field} is not {expected}")]
pub struct SeedError {
    field: &'static str,
    expected: &'static str,
}

impl Seeds {
    /// Fresh seeds from the operating system's entropy.
    pub fn fresh() -> Self {
        let mut rng: StdRng = rand::make_rng();
        let mut secure = [0u8; 32];
        let mut insecure = [0u8; 32];
        rng.fill_bytes(&mut secure);
        rng.fill_bytes(&mut insecure);
        Self {
            secure: hex(&secure),
            insecure: hex(&insecure),
            insecure_seed: u128::from(rng.next_u64())
                .wrapping_shl(64)
                .wrapping_add(u128::from(rng.next_u64()))
                .to_string(),
        }
    }

    /// Checks that every seed reads back (a hand-edited recording).
    pub fn validate(&self) -> Result<(), SeedError> {
        self.parse().map(|_| ())
    }

    fn parse(&self) -> Result<([u8; 32], [u8; 32], u128), SeedError> {
        let seed = |field: &'static str, text: &str| {
            unhex(text).ok_or(SeedError {
                field,
                expected: "64 hex digits",
            })
        };
        let insecure_seed = self.insecure_seed.parse().map_err(|_| SeedError {
            field: "insecure_seed",
            expected: "a decimal number below 2^128",
        })?;
        Ok((
            seed("secure", &self.secure)?,
            seed("insecure", &self.insecure)?,
            insecure_seed,
        ))
    }

    /// `builder`'s generators seeded with these seeds.
    fn apply(&self, builder: &mut WasiCtxBuilder) {
        let (secure, insecure, insecure_seed) = self.parse().expect("seeds are validated when read");
        builder
            .secure_random(StdRng::from_seed(secure))
            .insecure_random(StdRng::from_seed(insecure))
            .insecure_random_seed(insecure_seed);
    }
}

impl Inputs {
    /// `builder` with these clocks and generators; a recorded instance's
    /// clock readings go to `tape`.
    pub fn apply(&self, builder: &mut WasiCtxBuilder, tape: Option<&Tape>) {
        match self {
            Self::Live => {}
            Self::Fixed(determinism) => determinism.apply(builder),
            Self::Recorded(seeds) => {
                seeds.apply(builder);
                if let Some(tape) = tape {
                    builder
                        .wall_clock(TapedWallClock(tape.clone()))
                        .monotonic_clock(TapedMonotonicClock::new(tape.clone()));
                }
            }
            Self::Replayed(seeds, replay) => {
                seeds.apply(builder);
                builder
                    .wall_clock(ReplayedWallClock(replay.clone(), tape.cloned()))
                    .monotonic_clock(ReplayedMonotonicClock(replay.clone(), tape.cloned()));
            }
        }
    }
}

/// The real wall clock, each reading taped.
struct TapedWallClock(Tape);

impl HostWallClock for TapedWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let answer = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
        self.0.push(HostCall::WallClock { answer });
        Duration::from_nanos(answer)
    }
}

/// A monotonic clock counting from the instance's creation, each reading
/// taped.
struct TapedMonotonicClock(Tape, std::time::Instant);

impl TapedMonotonicClock {
    fn new(tape: Tape) -> Self {
        Self(tape, std::time::Instant::now())
    }
}

impl HostMonotonicClock for TapedMonotonicClock {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        let answer = u64::try_from(self.1.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.0.push(HostCall::MonotonicClock { answer });
        answer
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * index..2 * index + 2], 16).ok()?;
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_seeds_read_back_and_differ() {
        let (first, second) = (Seeds::fresh(), Seeds::fresh());
        assert!(first.validate().is_ok() && second.validate().is_ok());
        assert_ne!(first, second);
    }

    #[test]
    fn a_bad_seed_is_named() {
        let mut seeds = Seeds::fresh();
        seeds.insecure = "zz".into();
        assert_eq!(
            seeds.validate().unwrap_err().to_string(),
            "recording.json: seeds.insecure is not 64 hex digits"
        );
    }

    #[test]
    fn taped_clocks_write_each_reading() {
        let tape = Tape::default();
        let wall = TapedWallClock(tape.clone()).now();
        let monotonic = TapedMonotonicClock::new(tape.clone()).now();
        assert_eq!(
            tape.take(),
            [
                HostCall::WallClock {
                    answer: wall.as_nanos() as u64
                },
                HostCall::MonotonicClock { answer: monotonic }
            ]
        );
    }
}
