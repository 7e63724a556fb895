//! Proves that a sink outage pauses instead of losing: while the plugins' Redis
//! is down, the partitions wait (nothing committed, nothing dead-lettered),
//! visibly (`fleethost status`, `/metrics`, the progress line); once Redis is
//! up, the pipeline catches up and the live positions are exact.

mod support;

use std::time::Duration;

use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn partitions_wait_for_redis_and_catch_up_without_loss() {
    let TestNames { topic, group, prefix } = TestNames::create("outage", 2).await;
    let data = fleet_data(100, 2_000, 0, 5);
    let positions = produce(&topic, &data).await;
    let port = free_port();
    let redis_url = format!("redis://127.0.0.1:{port}");
    let mut config = one_pipeline_config("outage", &topic, &group, &prefix, &["live_location"], &redis_url);
    let admin = enable_admin(&mut config, free_port());
    let config = write_config_file("outage", &config);

    let host = Host::start("outage", &config);
    wait_until("the host says it waits for Redis", Duration::from_secs(60), || {
        host.log().contains("waiting for a backend") && host.log().contains("kv unavailable")
    });
    wait_until("the progress line names the wait", Duration::from_secs(10), || {
        host.log()
            .lines()
            .any(|line| line.contains("progress") && line.contains("waiting_for_backend=") && line.contains("kv: "))
    });
    let status = fleethost_command(&["status", "--admin", &admin]);
    assert!(
        status.contains("pipeline outage: waiting for a backend") && status.contains(&format!("{topic}/")),
        "status names the waiting partitions: {status}"
    );
    let metrics = admin_get(&admin, "/metrics");
    assert!(
        metrics.contains("fleethost_partitions_waiting_for_backend{pipeline=\"outage\"} 2"),
        "both partitions wait: {metrics}"
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        committed_offsets(&group, &topic, 2),
        vec![-1, -1],
        "nothing is committed while Redis is down"
    );
    assert!(
        read_all(&format!("{topic}.dlq"), 0, Duration::from_secs(2)).is_empty(),
        "nothing is dead-lettered"
    );

    let _redis = PrivateRedis::start(port);
    wait_for_commits(&group, &topic, &end_offsets(&positions, 2), Duration::from_secs(60));
    assert_live_positions_at(&redis_url, &prefix, &newest_per_driver(&data));
    assert!(read_all(&format!("{topic}.dlq"), 0, Duration::from_secs(1)).is_empty());
    wait_until("the wait is over in /metrics", Duration::from_secs(10), || {
        admin_get(&admin, "/metrics").contains("fleethost_partitions_waiting_for_backend{pipeline=\"outage\"} 0")
    });
    assert!(
        host.log().contains("no longer waiting for a backend"),
        "the end of the wait is logged"
    );
}
