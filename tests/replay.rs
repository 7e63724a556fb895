//! Proves `fleethost replay`: a range of a pipeline's topic is read in a
//! shadow consumer group (`{group}.replay`, committed at the range's end)
//! and run through the configured plugin version and a candidate, each
//! writing only to its own shadow sinks: the live keys and the live
//! consumer group are untouched while the host keeps running, and the
//! summary names every difference of the candidate (here: each event
//! stamped v2 instead of v1). Replayed against itself, a version shows no
//! difference.

mod support;

use std::time::Duration;

use redis::Commands;
use support::*;

const PARTITIONS: i32 = 2;

#[tokio::test(flavor = "multi_thread")]
async fn a_candidate_is_replayed_in_shadow_sinks_and_its_differences_reported() {
    let TestNames { topic, group, prefix } = TestNames::create("replay", PARTITIONS).await;
    let mut config = test_config(&redis_url());
    add_pipeline(&mut config, "stamp", &group, &topic, &["stamp"]);
    config.plugins.insert(
        "stamp".into(),
        test_plugin_writing("test_stamp_v1", &[("key_prefix", &prefix)], &prefix),
    );
    let path = write_config_file("replay", &config);
    let path_arg = path.to_str().expect("utf-8 path");
    let mut host = Host::start("replay", &path);

    let data = fleet_data(30, 240, 0, 31);
    let positions = produce_one_per_batch(&topic, &data).await;
    wait_until_consumed(&group, &topic, PARTITIONS, &positions, Duration::from_secs(60));
    let live_before = live_state(&prefix, &topic);
    assert_eq!(
        live_before.1,
        data.len() as u64,
        "the live run delivered each event once"
    );

    let candidate = plugin_path("test_stamp_v2");
    let candidate_arg = candidate.to_str().expect("utf-8 path");
    let summary = fleethost_command(&[
        "replay",
        "--config",
        path_arg,
        "stamp",
        "--candidate",
        candidate_arg,
        "--from",
        "0",
    ]);
    assert!(
        summary.contains(&format!("{} records (0 undecodable", data.len()))
            && summary.contains(&format!(
                "differences in kv state: 0 only live, 0 only candidate, {} changed",
                data.len()
            ))
            && summary.contains("live \"test-stamp-v1\", candidate \"test-stamp-v2\""),
        "{summary}"
    );
    assert!(!summary.contains("differences in rejected events"), "{summary}");

    // The shadow sinks hold each version's writes; the live ones are as
    // they were, and the shadow group committed the range's end.
    let run = summary
        .split_whitespace()
        .nth(1)
        .expect("the summary names the run")
        .to_string();
    let mut redis = redis();
    for (version, stamp) in [("live", "test-stamp-v1"), ("candidate", "test-stamp-v2")] {
        let shadow: std::collections::HashMap<String, String> = redis
            .hgetall(format!("replay:{run}:{version}:{prefix}seen:{topic}:0"))
            .expect("shadow hash");
        assert!(
            !shadow.is_empty() && shadow.values().all(|value| value == stamp),
            "{version}: {shadow:?}"
        );
    }
    assert_eq!(live_state(&prefix, &topic), live_before, "the live keys are untouched");
    wait_until_consumed(
        &format!("{group}.replay"),
        &topic,
        PARTITIONS,
        &positions,
        Duration::from_secs(10),
    );

    // The live group consumed on throughout, and goes on.
    let more = fleet_data(30, 60, 0, 32);
    let mut all = positions.clone();
    all.extend(produce_one_per_batch(&topic, &more).await);
    wait_until_consumed(&group, &topic, PARTITIONS, &all, Duration::from_secs(60));

    let same = fleethost_command(&["replay", "--config", path_arg, "stamp", "--from", "0"]);
    assert!(same.contains("no differences"), "{same}");
    host.terminate(Duration::from_secs(30));
}

/// The live run's state: every stamp it wrote, and its delivery count.
fn live_state(prefix: &str, topic: &str) -> (Vec<String>, u64) {
    let mut redis = redis();
    let mut stamps = Vec::new();
    for partition in 0..PARTITIONS {
        let seen: std::collections::BTreeMap<String, String> = redis
            .hgetall(format!("{prefix}seen:{topic}:{partition}"))
            .expect("seen hash");
        stamps.extend(
            seen.into_iter()
                .map(|(offset, stamp)| format!("{partition}@{offset}={stamp}")),
        );
    }
    (stamps, delivery_count_at(&redis_url(), prefix, topic, PARTITIONS))
}
