//! What the plugins left in Redis, checked against the data a test produced:
//! live positions, the offsets test-recorder saw, the dead letters.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use super::{Fix, Fixture, Position, dead_letter_positions, newest_per_driver, read_all, redis_url, split_positions};

/// A Redis connection.
pub fn redis() -> redis::Connection {
    redis_at(&redis_url())
}

/// A connection to the Redis at `url`.
pub fn redis_at(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .expect("redis url")
        .get_connection()
        .expect("redis connection")
}

/// Asserts that the tests' Redis holds exactly the newest valid fix of every driver.
pub fn assert_live_positions(prefix: &str, expected: &HashMap<String, Fix>) {
    assert_live_positions_at(&redis_url(), prefix, expected);
}

/// Asserts that the Redis at `url` holds exactly the newest valid fix of every driver.
pub fn assert_live_positions_at(url: &str, prefix: &str, expected: &HashMap<String, Fix>) {
    assert_live_positions_in(&mut redis_at(url), prefix, expected);
}

/// Asserts that the Redis behind `connection` holds exactly the newest valid
/// fix of every driver.
pub fn assert_live_positions_in(connection: &mut redis::Connection, prefix: &str, expected: &HashMap<String, Fix>) {
    let mut wrong = Vec::new();
    for (driver, fix) in expected {
        let hash: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(format!("{prefix}driver:{driver}"))
            .query(connection)
            .expect("hgetall");
        let read = |field: &str| hash.get(field).and_then(|value| value.parse::<f64>().ok());
        let actual = (read("lat"), read("lng"), read("ts_ms").map(|ts| ts as i64));
        if actual != (Some(fix.latitude), Some(fix.longitude), Some(fix.timestamp_ms)) {
            wrong.push(format!("{driver}: expected {fix:?}, Redis has {hash:?}"));
        }
    }
    let geo_members: i64 = redis::cmd("ZCARD")
        .arg(format!("{prefix}drivers:geo"))
        .query(connection)
        .expect("zcard");
    assert!(
        wrong.is_empty(),
        "{} of {} drivers wrong, e.g. {:?}",
        wrong.len(),
        expected.len(),
        &wrong[..wrong.len().min(5)]
    );
    assert_eq!(geo_members as usize, expected.len(), "drivers in the GEO set");
}

/// The offsets the test-recorder plugin saw, per partition.
pub fn recorded_offsets(prefix: &str, topic: &str, partitions: i32) -> BTreeSet<Position> {
    recorded_offsets_at(&redis_url(), prefix, topic, partitions)
}

/// [`recorded_offsets`] in the Redis at `url`.
pub fn recorded_offsets_at(url: &str, prefix: &str, topic: &str, partitions: i32) -> BTreeSet<Position> {
    let mut connection = redis_at(url);
    let mut seen = BTreeSet::new();
    for partition in 0..partitions {
        let offsets: Vec<String> = redis::cmd("HKEYS")
            .arg(format!("{prefix}seen:{topic}:{partition}"))
            .query(&mut connection)
            .expect("hkeys");
        seen.extend(offsets.iter().map(|offset| Position {
            partition,
            offset: offset.parse().expect("offset"),
        }));
    }
    seen
}

/// Asserts that after a run over `data` (produced at `positions`) with the
/// live-location and test-recorder plugins under `prefix`: Redis holds every
/// driver's newest valid fix, every valid message was processed at least once,
/// and the dead-letter topic names exactly the bad messages (a redelivery may
/// name one twice, never zero times).
pub fn assert_nothing_lost(prefix: &str, topic: &str, partitions: i32, data: &[Fixture], positions: &[Position]) {
    assert_nothing_lost_at(&redis_url(), prefix, topic, partitions, data, positions);
}

/// [`assert_nothing_lost`] with the plugins' Redis at `url`.
pub fn assert_nothing_lost_at(
    url: &str,
    prefix: &str,
    topic: &str,
    partitions: i32,
    data: &[Fixture],
    positions: &[Position],
) {
    let (valid, bad) = split_positions(data, positions);
    assert_live_positions_at(url, prefix, &newest_per_driver(data));
    let seen = recorded_offsets_at(url, prefix, topic, partitions);
    assert_covered(&valid, &seen, "valid fixes never processed");
    let dead_letters = read_all(&format!("{topic}.dlq"), bad.len(), Duration::from_secs(2));
    assert_eq!(
        dead_letter_positions(&dead_letters),
        bad,
        "dead letters name exactly the bad messages"
    );
}

/// Asserts that every position of `expected` is in `found`, naming how many
/// are not and a few of them after `what`.
pub fn assert_covered(expected: &BTreeSet<Position>, found: &BTreeSet<Position>, what: &str) {
    let missing: Vec<_> = expected.difference(found).collect();
    assert!(
        missing.is_empty(),
        "{} {what}, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
}

/// How many events test-recorder was handed on `topic`, over all deliveries
/// (a redelivered event counts again), and how many distinct offsets those
/// were: the difference is the duplicates redeliveries made.
pub fn recorded_deliveries(prefix: &str, topic: &str, partitions: i32) -> (u64, usize) {
    recorded_deliveries_at(&redis_url(), prefix, topic, partitions)
}

/// [`recorded_deliveries`] in the Redis at `url`.
pub fn recorded_deliveries_at(url: &str, prefix: &str, topic: &str, partitions: i32) -> (u64, usize) {
    (
        delivery_count_at(url, prefix, topic, partitions),
        recorded_offsets_at(url, prefix, topic, partitions).len(),
    )
}

/// The deliveries test-recorder counted on `topic` in the Redis at `url`:
/// one `GET` per partition, cheap enough to poll (the distinct offsets of
/// [`recorded_deliveries_at`] read every recorded offset).
pub fn delivery_count_at(url: &str, prefix: &str, topic: &str, partitions: i32) -> u64 {
    let mut connection = redis_at(url);
    (0..partitions)
        .map(|partition| {
            redis::cmd("GET")
                .arg(format!("{prefix}delivered:{topic}:{partition}"))
                .query::<Option<u64>>(&mut connection)
                .expect("get")
                .unwrap_or(0)
        })
        .sum()
}
