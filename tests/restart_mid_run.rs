//! Proves that stopping the host in the middle of a steady stream loses
//! nothing: after SIGTERM (a clean stop that commits and exits 0) and after
//! SIGKILL (a crash that commits nothing on the way out), a restarted host
//! finishes the stream, the final Redis state is exact and every valid fix was
//! processed.

mod support;

use std::time::Duration;

use support::*;

/// Starts a host on a stream that is still being produced, lets it process
/// some events, ends it with `stop`, starts a second host and checks the result.
async fn restart_mid_run(name: &str, seed: u64, stop: impl FnOnce(&mut Host, &str, &str)) {
    let TestNames { topic, group, prefix } = TestNames::create(name, 4).await;
    let data = fleet_data(500, 20_000, 100, seed);
    let config = write_config(name, &topic, &group, &prefix, &["live_location", "test_recorder"]);

    let mut first = Host::start("first", &config);
    wait_until("the first host joined the group", Duration::from_secs(60), || {
        first.log().contains("partitions assigned")
    });
    let stream = tokio::spawn(produce_paced(
        topic.clone(),
        data.clone(),
        1_000,
        Duration::from_millis(300),
    ));
    wait_until("the first host processed some events", Duration::from_secs(60), || {
        recorded_offsets(&prefix, &topic, 4).len() >= 1_000
    });
    assert!(
        !stream.is_finished(),
        "the stream was still flowing when the host was stopped"
    );
    stop(&mut first, &group, &topic);

    let _second = Host::start("second", &config);
    let positions = stream.await.expect("producer task");
    wait_for_commits(&group, &topic, &end_offsets(&positions, 4), Duration::from_secs(120));
    assert_nothing_lost(&prefix, &topic, 4, &data, &positions);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_run_commits_exits_0_and_a_restart_loses_nothing() {
    restart_mid_run("sigterm", 2, |host, group, topic| {
        let status = host.terminate(Duration::from_secs(30));
        assert!(status.success(), "SIGTERM exits 0, got {status}");
        assert!(host.log().contains("pipeline stopped; offsets committed"));
        let committed = committed_offsets(group, topic, 4);
        assert!(
            committed.iter().any(|offset| *offset > 0),
            "progress was committed: {committed:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_run_then_a_restart_loses_nothing() {
    restart_mid_run("sigkill", 3, |host, _, _| host.kill()).await;
}
