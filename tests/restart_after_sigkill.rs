//! Proves at-least-once delivery across a crash: the host is killed with
//! SIGKILL in the middle of a run (nothing committed on the way out) and
//! started again; afterwards the Redis state is exact, every valid fix was
//! processed and every bad message is in the dead-letter topic.

mod support;

use std::time::Duration;

use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_run_then_restart_loses_nothing() {
    let topic = unique("sigkill-rider-updates");
    let group = unique("sigkill-group");
    let prefix = format!("{}:", unique("sigkill"));
    create_topic(&topic, 4).await;
    let data = fleet_data(500, 20_000, 100, 3);
    let positions = produce(&topic, &data).await;
    let (valid, bad) = split_positions(&data, &positions);
    let config = write_config(
        "sigkill",
        &topic,
        &group,
        &prefix,
        &["live_location", "test_recorder"],
    );

    let mut first = Host::start("first", &config);
    wait_until(
        "the first host processed some events",
        Duration::from_secs(60),
        || recorded_offsets(&prefix, &topic, 4).len() >= 2_000,
    );
    first.kill();
    assert_ne!(
        committed_offsets(&group, &topic, 4),
        end_offsets(&positions, 4),
        "killed mid-run"
    );

    let _second = Host::start("second", &config);
    wait_for_commits(
        &group,
        &topic,
        &end_offsets(&positions, 4),
        Duration::from_secs(120),
    );

    assert_live_positions(&prefix, &newest_per_driver(&data));
    let seen = recorded_offsets(&prefix, &topic, 4);
    let missing: Vec<_> = valid.difference(&seen).take(5).collect();
    assert!(
        missing.is_empty(),
        "valid fixes never processed, e.g. {missing:?}"
    );
    // Redelivery after a crash may dead-letter a bad message twice, never zero times.
    assert_eq!(
        dead_letter_positions(&read_all(
            &format!("{topic}.dlq"),
            bad.len(),
            Duration::from_secs(2)
        )),
        bad
    );
}
