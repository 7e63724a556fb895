//! Proves that SIGTERM in the middle of a run is a clean stop: the host
//! finishes its in-flight batches, commits and exits 0, and a restarted host
//! picks up where it stopped: the final Redis state is exact and every valid
//! fix was processed.

mod support;

use std::time::Duration;

use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_run_then_restart_loses_nothing() {
    let topic = unique("sigterm-rider-updates");
    let group = unique("sigterm-group");
    let prefix = format!("{}:", unique("sigterm"));
    create_topic(&topic, 4).await;
    let data = fleet_data(500, 20_000, 100, 2);
    let positions = produce(&topic, &data).await;
    let (valid, bad) = split_positions(&data, &positions);
    let config = write_config(
        "sigterm",
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
    let status = first.terminate(Duration::from_secs(30));
    assert!(status.success(), "SIGTERM exits 0, got {status}");
    let committed = committed_offsets(&group, &topic, 4);
    let ends = end_offsets(&positions, 4);
    assert!(
        committed.iter().any(|offset| *offset > 0),
        "the first host committed its progress: {committed:?}"
    );
    assert_ne!(
        committed, ends,
        "the first host was stopped mid-run (make the data set larger if this fails)"
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
    assert_eq!(
        dead_letter_positions(&read_all(
            &format!("{topic}.dlq"),
            bad.len(),
            Duration::from_secs(2)
        )),
        bad
    );
}
