//! Proves that an operator can pause and resume a pipeline (`fleethost
//! pause|resume`, the admin interface's endpoints) and that nothing is lost
//! meanwhile: a paused partition commits nothing, its lag (high watermark
//! minus committed offset, in `/metrics` and `fleethost status`) grows by
//! exactly what arrives while it waits, and after the resume every fix is
//! processed and the lag is back to 0. One partition can be paused on its
//! own while the others go on. `/metrics` carries the operator's pauses,
//! the per-plugin-version batch histograms and host-call counts.

mod support;

use std::time::Duration;

use support::*;

const PARTITIONS: i32 = 4;
const PIPELINE: &str = "live";

#[tokio::test(flavor = "multi_thread")]
async fn a_paused_pipeline_holds_its_offsets_counts_its_lag_and_loses_nothing() {
    let TestNames { topic, group, prefix } = TestNames::create("pause", PARTITIONS).await;
    let plugins = ["live_location", "test_recorder"];
    let mut config = test_config(&redis_url());
    let admin = enable_admin(&mut config, free_port());
    add_pipeline(&mut config, PIPELINE, &group, &topic, &plugins);
    add_plugins_under(&mut config, &plugins, &prefix);
    let config = write_config_file("pause", &config);
    let mut host = Host::start("pause", &config);
    let admin_flag = ["--admin", admin.as_str()];
    let cli = |args: &[&str]| fleethost_command(&[args, &admin_flag[..]].concat());

    // Running: everything produced is committed and the lag is 0.
    let before = fleet_data(200, 2_000, 0, 11);
    let mut positions = produce(&topic, &before).await;
    wait_until_consumed(&group, &topic, PARTITIONS, &positions, Duration::from_secs(60));
    wait_for_lag(&admin, &topic, &[0; PARTITIONS as usize]);

    // Paused: no offset moves, and the lag is exactly what arrived since.
    let paused = cli(&["pause", PIPELINE]);
    assert!(paused.contains("every partition paused"), "{paused}");
    wait_until("every partition is paused", Duration::from_secs(10), || {
        metrics(&admin).contains(&format!(
            "fleethost_partitions_paused{{pipeline=\"{PIPELINE}\",reason=\"operator\"}} {PARTITIONS}"
        ))
    });
    let committed_at_pause = committed_offsets(&group, &topic, PARTITIONS);
    let during = fleet_data(200, 3_000, 0, 12);
    let arrived = produce_one_per_batch(&topic, &during).await;
    let expected_lag = per_partition(&arrived);
    wait_for_lag(&admin, &topic, &expected_lag);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        committed_offsets(&group, &topic, PARTITIONS),
        committed_at_pause,
        "a paused pipeline commits nothing"
    );
    let status = cli(&["status"]);
    assert!(
        status.contains(&format!("pipeline {PIPELINE}: paused"))
            && status.contains(&format!("lag {}", expected_lag.iter().sum::<i64>())),
        "{status}"
    );
    // One partition of a pipeline paused whole cannot be resumed alone.
    let (resumed_one, refusal) = fleethost(&["resume", PIPELINE, "--partition", "1", "--admin", &admin]);
    assert!(!resumed_one && refusal.contains("resume it whole"), "{refusal}");

    // Resumed: everything is processed, the lag is back to 0.
    let resumed = cli(&["resume", PIPELINE]);
    assert!(resumed.contains("nothing paused"), "{resumed}");
    positions.extend(arrived);
    wait_until_consumed(&group, &topic, PARTITIONS, &positions, Duration::from_secs(60));
    wait_for_lag(&admin, &topic, &[0; PARTITIONS as usize]);

    // One partition paused: it alone holds its messages.
    cli(&["pause", PIPELINE, "--partition", "2"]);
    wait_until("partition 2 is paused", Duration::from_secs(10), || {
        metrics(&admin).contains(&format!(
            "fleethost_partitions_paused{{pipeline=\"{PIPELINE}\",reason=\"operator\"}} 1"
        ))
    });
    let after = fleet_data(200, 2_000, 0, 13);
    let arrived = produce_one_per_batch(&topic, &after).await;
    let mut expected_lag = vec![0; PARTITIONS as usize];
    expected_lag[2] = per_partition(&arrived)[2];
    wait_for_lag(&admin, &topic, &expected_lag);
    let status = cli(&["status"]);
    assert!(
        status.contains(&format!("pipeline {PIPELINE}: partly paused")),
        "{status}"
    );
    cli(&["resume", PIPELINE, "--partition", "2"]);
    positions.extend(arrived);
    wait_until_consumed(&group, &topic, PARTITIONS, &positions, Duration::from_secs(60));
    wait_for_lag(&admin, &topic, &[0; PARTITIONS as usize]);

    let all: Vec<_> = [before, during, after].concat();
    assert_nothing_lost(&prefix, &topic, PARTITIONS, &all, &positions);
    // What /metrics says of the plugins' work.
    let text = metrics(&admin);
    for plugin in plugins {
        assert!(
            text.contains(&format!(
                "fleethost_batch_duration_seconds_count{{pipeline=\"{PIPELINE}\",plugin=\"{plugin}\","
            )) && text.contains(&format!("fleethost_host_calls_total{{plugin=\"{plugin}\",")),
            "batch histogram and host calls of {plugin}: {text}"
        );
    }
    let log = host.log();
    assert!(
        log.contains("paused by the operator") && log.contains("resumed by the operator"),
        "{log}"
    );
    host.terminate(Duration::from_secs(30));
}

/// The admin interface's `/metrics` text.
fn metrics(admin: &str) -> String {
    admin_get(admin, "/metrics")
}

/// How many of `positions` went to each partition.
fn per_partition(positions: &[Position]) -> Vec<i64> {
    (0..PARTITIONS)
        .map(|partition| {
            positions
                .iter()
                .filter(|position| position.partition == partition)
                .count() as i64
        })
        .collect()
}

/// Waits until `/metrics` shows the lag of each partition of `topic` at
/// `expected` (index = partition).
fn wait_for_lag(admin: &str, topic: &str, expected: &[i64]) {
    let mut seen = String::new();
    let found = wait_for(Duration::from_secs(30), || {
        let text = metrics(admin);
        let lags: Vec<Option<i64>> = (0..PARTITIONS)
            .map(|partition| {
                let series = format!(
                    "fleethost_partition_lag{{pipeline=\"{PIPELINE}\",topic=\"{topic}\",partition=\"{partition}\"}} "
                );
                text.lines()
                    .find_map(|line| line.strip_prefix(&series))
                    .and_then(|value| value.trim().parse().ok())
            })
            .collect();
        seen = format!("{lags:?}");
        lags.iter().zip(expected).all(|(lag, expected)| *lag == Some(*expected))
    });
    assert!(found, "the lag per partition is {seen}, expected {expected:?}");
}
