//! A generated fleet data set: drivers' fixes in the seed systems' field
//! spellings, some of them bad, and what the stores must hold after it.

use std::collections::{BTreeSet, HashMap};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::Position;

/// One message of a generated data set.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub key: String,
    pub payload: String,
    /// The valid fix in it, or `None` for a malformed / out-of-range message.
    pub valid: Option<Fix>,
}

/// A valid fix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    pub latitude: f64,
    pub longitude: f64,
    pub timestamp_ms: i64,
}

/// `fixes` messages for `drivers` drivers in shuffled order (so event time is
/// not offset order), with every `bad_every`-th message malformed or out of
/// range, in the field spellings of the seed systems.
pub fn fleet_data(drivers: usize, fixes: usize, bad_every: usize, seed: u64) -> Vec<Fixture> {
    let mut rng = StdRng::seed_from_u64(seed);
    let base_ms: i64 = 1_700_000_000_000;
    let mut data = Vec::with_capacity(fixes);
    for index in 0..fixes {
        let driver = index % drivers;
        let round = (index / drivers) as i64;
        let key = format!("drv-{driver}");
        let timestamp_ms = base_ms + round * 1000 + rng.random_range(0..900);
        let latitude = 12.9 + rng.random_range(0.0..0.2);
        let longitude = 77.5 + rng.random_range(0.0..0.2);
        let payload = match driver % 3 {
            0 => format!(
                r#"{{"driverId":"{key}","latitude":{latitude},"longitude":{longitude},"timestamp":{timestamp_ms}}}"#
            ),
            1 => format!(
                r#"{{"driver_id":"{key}","lat":{latitude},"lng":{longitude},"timestamp":{timestamp_ms},"state":"south"}}"#
            ),
            _ => format!(
                r#"{{"rider_id":"{key}","lat":{latitude},"lon":{longitude},"timestamp":{timestamp_ms},"speed":7.5}}"#
            ),
        };
        data.push(Fixture {
            key,
            payload,
            valid: Some(Fix {
                latitude,
                longitude,
                timestamp_ms,
            }),
        });
    }
    data.shuffle(&mut rng);
    let bad_payloads = [
        |key: &str| format!("{{not json {key}"),
        |key: &str| format!(r#"{{"driverId":"{key}","latitude":95.5,"longitude":77.6,"timestamp":1700000000000}}"#),
        |key: &str| format!(r#"{{"driverId":"{key}","latitude":12.9,"longitude":-181,"timestamp":1700000000000}}"#),
        |_: &str| r#"{"latitude":12.9,"longitude":77.6}"#.to_string(),
        |key: &str| format!(r#"{{"driverId":"{key}","timestamp":1700000000000}}"#),
    ];
    let mut bad_kind = 0;
    for (index, fixture) in data.iter_mut().enumerate() {
        if bad_every > 0 && index % bad_every == bad_every - 1 {
            fixture.payload = bad_payloads[bad_kind % bad_payloads.len()](&fixture.key);
            fixture.valid = None;
            bad_kind += 1;
        }
    }
    data
}

/// The newest valid fix per driver: what Redis must hold in the end.
pub fn newest_per_driver(data: &[Fixture]) -> HashMap<String, Fix> {
    let mut newest: HashMap<String, Fix> = HashMap::new();
    for fixture in data {
        if let Some(fix) = fixture.valid {
            let entry = newest.entry(fixture.key.clone()).or_insert(fix);
            if fix.timestamp_ms > entry.timestamp_ms {
                *entry = fix;
            }
        }
    }
    newest
}

/// Positions of the valid and of the bad messages of a produced data set.
pub fn split_positions(data: &[Fixture], positions: &[Position]) -> (BTreeSet<Position>, BTreeSet<Position>) {
    let mut valid = BTreeSet::new();
    let mut bad = BTreeSet::new();
    for (fixture, position) in data.iter().zip(positions) {
        if fixture.valid.is_some() {
            valid.insert(*position)
        } else {
            bad.insert(*position)
        };
    }
    (valid, bad)
}
