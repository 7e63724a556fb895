//! Proves that a pipeline holds fixes to its `events` bounds, through a real
//! broker and Redis with live-location: among normal fixes, one phone's fix
//! dated ten years ahead is dead-lettered as `future-timestamp` with a reason
//! naming the limit, and its driver's live position still ends at the newest
//! real fix; a fix past the configured (not the default) skew, one older than
//! the maximum age and an impossible speed or heading are dead-lettered too,
//! a fix slightly ahead but within the skew is processed, and so is every
//! other fix.

mod support;

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use support::*;

const DRIVERS: usize = 20;
const ROUNDS: usize = 30;
const PARTITIONS: i32 = 2;
/// The pipeline's `events.max_future_skew_ms`: tighter than the default, so
/// that a fix three minutes ahead proves the setting reaches the workers.
const MAX_FUTURE_SKEW_MS: i64 = 60_000;
/// The pipeline's `events.max_age_ms`: one day.
const MAX_AGE_MS: i64 = 86_400_000;
const TEN_YEARS_MS: i64 = 3_652 * 86_400_000;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_millis() as i64
}

/// `ms` as the decoder's reasons write an instant.
fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("a representable instant")
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// A fix of `driver` at `timestamp_ms`, with `extra` JSON members.
fn fixture(driver: usize, timestamp_ms: i64, extra: &str, valid: bool) -> Fixture {
    let key = format!("drv-{driver}");
    let latitude = 12.9 + driver as f64 * 0.001 + (timestamp_ms % 100_000) as f64 * 1e-7;
    let longitude = 77.5 + driver as f64 * 0.001;
    Fixture {
        payload: format!(
            r#"{{"driverId":"{key}","lat":{latitude},"lng":{longitude},"timestamp":{timestamp_ms}{extra}}}"#
        ),
        key,
        valid: valid.then_some(Fix {
            latitude,
            longitude,
            timestamp_ms,
        }),
    }
}

/// What one refused fix must be dead-lettered with.
struct Refusal {
    driver: usize,
    kind: &'static str,
    /// Parts the reason must contain.
    reason: Vec<String>,
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fix_dated_years_ahead_is_dead_lettered_and_cannot_pin_its_driver() {
    let TestNames { topic, group, prefix } = TestNames::create("event-bounds", PARTITIONS).await;
    // Normal fixes one second apart per driver, ending a few minutes before
    // the messages are produced (their Kafka timestamps are the producer's clock).
    let now = now_ms();
    let base = now - 5 * 60_000;
    let refusals = [
        Refusal {
            driver: 0,
            kind: "future-timestamp",
            reason: vec![
                format!("field `timestamp` = {} is ", rfc3339(now + TEN_YEARS_MS)),
                "days) ahead of the message timestamp".into(),
                "the limit is 60000 ms (pipelines[].events.max_future_skew_ms)".into(),
            ],
        },
        Refusal {
            driver: 1,
            kind: "future-timestamp",
            reason: vec!["the limit is 60000 ms".into()],
        },
        Refusal {
            driver: 2,
            kind: "too-old",
            reason: vec![
                "days) behind the message timestamp".into(),
                "the limit is 86400000 ms (pipelines[].events.max_age_ms)".into(),
            ],
        },
        Refusal {
            driver: 3,
            kind: "out-of-range",
            reason: vec!["field `speed` = 250 is out of range [0, 100]".into()],
        },
        Refusal {
            driver: 4,
            kind: "out-of-range",
            reason: vec!["field `heading` = 400 is out of range [0, 360]".into()],
        },
    ];
    let mut data = Vec::with_capacity(DRIVERS * ROUNDS + refusals.len() + 1);
    for round in 0..ROUNDS {
        for driver in 0..DRIVERS {
            data.push(fixture(driver, base + round as i64 * 1000 + driver as i64, "", true));
        }
        // Each bad fix in the middle of its driver's stream: real fixes follow it.
        if round == ROUNDS / 2 {
            data.push(fixture(0, now + TEN_YEARS_MS, "", false));
            data.push(fixture(1, now + 3 * MAX_FUTURE_SKEW_MS, "", false));
            data.push(fixture(2, now - 2 * MAX_AGE_MS, "", false));
            data.push(fixture(3, base + round as i64 * 1000 + 500, r#","speed":250"#, false));
            data.push(fixture(4, base + round as i64 * 1000 + 500, r#","heading":400"#, false));
        }
    }
    // Ahead, but within the skew: accepted, and driver 5's newest fix.
    data.push(fixture(
        5,
        now + MAX_FUTURE_SKEW_MS / 2,
        r#","speed":12.5,"heading":360"#,
        true,
    ));
    let positions = produce(&topic, &data).await;

    let plugins = ["live_location", "test_recorder"];
    let mut config = test_config(&redis_url());
    let mut pipeline = test_pipeline("event-bounds", &group, &topic, &plugins);
    pipeline.batch.max_events = 200;
    pipeline.batch.max_wait_ms = 200;
    pipeline.events.max_future_skew_ms = MAX_FUTURE_SKEW_MS as u64;
    pipeline.events.max_age_ms = MAX_AGE_MS as u64;
    config.pipelines.push(pipeline);
    add_plugins_under(&mut config, &plugins, &prefix);
    let config = write_config_file("event-bounds", &config);
    let mut host = Host::start("event-bounds", &config);
    wait_until_consumed(&group, &topic, PARTITIONS, &positions, Duration::from_secs(120));

    // Every valid fix processed, exactly the refused ones dead-lettered, and
    // every driver at its newest valid fix.
    assert_nothing_lost(&prefix, &topic, PARTITIONS, &data, &positions);
    let newest: HashMap<String, Fix> = newest_per_driver(&data);
    let ts_ms: String = redis::cmd("HGET")
        .arg(format!("{prefix}driver:drv-0"))
        .arg("ts_ms")
        .query(&mut redis())
        .expect("hget");
    assert_eq!(
        ts_ms,
        newest["drv-0"].timestamp_ms.to_string(),
        "drv-0's live position is its newest real fix, not the one ten years ahead"
    );
    assert!(
        newest["drv-5"].timestamp_ms > now,
        "the fix within the skew is drv-5's newest"
    );

    let dead_letters = read_all(&format!("{topic}.dlq"), refusals.len(), Duration::from_secs(2));
    assert_eq!(dead_letters.len(), refusals.len(), "{dead_letters:#?}");
    for refusal in &refusals {
        let key = format!("drv-{}", refusal.driver);
        let letter = dead_letters
            .iter()
            .find(|letter| letter.key.as_deref() == Some(key.as_str()))
            .unwrap_or_else(|| panic!("no dead letter for {key}: {dead_letters:#?}"));
        assert_eq!(letter.headers["fleethost.error.kind"], refusal.kind, "{letter:?}");
        let reason = &letter.headers["fleethost.error"];
        for part in &refusal.reason {
            assert!(reason.contains(part), "{key}'s reason does not say `{part}`: {reason}");
        }
        assert_eq!(letter.headers["fleethost.pipeline"], "event-bounds");
        assert!(
            data.iter()
                .any(|fixture| fixture.valid.is_none() && Some(&fixture.payload) == letter.payload.as_ref()),
            "original payload kept: {letter:?}"
        );
    }

    let status = host.terminate(Duration::from_secs(30));
    assert!(status.success(), "clean shutdown exits 0, got {status}");
}
