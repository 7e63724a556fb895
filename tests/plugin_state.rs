//! Proves the `state` capability's promise against the real broker and
//! Redis: a plugin's per-partition state survives a crash (SIGKILL) and a
//! rebalance between two hosts with nothing lost and nothing counted twice,
//! and the changes of a call that failed are discarded. test-tally counts
//! each driver's fixes in its state (failing the first attempt of every
//! seventh batch after changing it); the counts the hosts left in Redis must
//! equal the fixes produced per driver exactly.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use support::*;

const PARTITIONS: i32 = 4;

/// The counts test-tally kept in `group`'s state, summed per driver over the
/// partitions.
fn tallied(group: &str) -> BTreeMap<String, u64> {
    tallied_at(&redis_url(), group)
}

/// [`tallied`] in the Redis at `url`.
fn tallied_at(url: &str, group: &str) -> BTreeMap<String, u64> {
    let mut redis = redis_at(url);
    let mut counts = BTreeMap::new();
    for partition in 0..PARTITIONS {
        let key = format!("fleethost:state:{group}:test_tally:{partition}");
        let fields: BTreeMap<String, String> = redis::cmd("HGETALL").arg(&key).query(&mut redis).expect("HGETALL");
        for (field, value) in fields {
            if let Some(driver) = field.strip_prefix("k:") {
                *counts.entry(driver.to_string()).or_default() += value.parse::<u64>().expect("a count");
            }
        }
    }
    counts
}

fn forget_state(group: &str) {
    let mut redis = redis();
    for partition in 0..PARTITIONS {
        let key = format!("fleethost:state:{group}:test_tally:{partition}");
        let _: () = redis::cmd("DEL").arg(&key).query(&mut redis).expect("DEL");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn state_survives_a_crash_and_a_rebalance_with_nothing_lost_or_counted_twice() {
    let TestNames { topic, group, .. } = TestNames::create("state", PARTITIONS).await;
    let data = fleet_data(200, 12_000, 0, 41);
    let expected = fixes_per_driver(&data);
    let mut config = test_config(&redis_url());
    add_pipeline(&mut config, "state", &group, &topic, &["test_tally"]);
    config.pipelines[0].batch.max_events = 300;
    config
        .plugins
        .insert("test_tally".into(), test_plugin("test_tally", &[("fail_every", "7")]));
    let config_of_first = config.clone();
    let config = write_config_file("state", &config);

    let mut first = Host::start("first", &config);
    wait_until("the first host joined the group", Duration::from_secs(60), || {
        first.log().contains("partitions assigned")
    });
    let stream = tokio::spawn(produce_paced(topic.clone(), data, 600, Duration::from_millis(250)));
    wait_until("the first host kept some state", Duration::from_secs(60), || {
        tallied(&group).values().sum::<u64>() >= 2_000
    });
    assert!(!stream.is_finished(), "the stream was still flowing at the crash");
    first.kill();

    // The second host serves its metrics (the hosts cannot share a port).
    let mut second_config = test_config(&redis_url());
    let admin = enable_admin(&mut second_config, free_port());
    second_config.pipelines = config_of_first.pipelines.clone();
    second_config.plugins = config_of_first.plugins.clone();
    let second = Host::start("second", &write_config_file("state-second", &second_config));
    wait_until("the second host took the state over", Duration::from_secs(60), || {
        tallied(&group).values().sum::<u64>() >= 5_000
    });
    assert!(!stream.is_finished(), "the stream was still flowing at the rebalance");
    let third = Host::start("third", &config);
    let positions = stream.await.expect("producer task");
    wait_for_commits(
        &group,
        &topic,
        &end_offsets(&positions, PARTITIONS),
        Duration::from_secs(120),
    );

    let counted = tallied(&group);
    let off: Vec<String> = expected
        .iter()
        .filter(|(driver, fixes)| counted.get(*driver) != Some(fixes))
        .map(|(driver, fixes)| format!("{driver}: {fixes} fixes, counted {:?}", counted.get(driver)))
        .collect();
    assert!(
        off.is_empty(),
        "{} of {} drivers' counts are off (first: {:?})",
        off.len(),
        expected.len(),
        off.first()
    );
    for (name, host) in [("second", &second), ("third", &third)] {
        assert!(
            host.log().contains("loaded the partition's state"),
            "the {name} host loaded the state it was assigned"
        );
    }
    assert!(
        second.log().contains("failed once on purpose") || third.log().contains("failed once on purpose"),
        "calls failed after changing the state, and their changes were discarded"
    );
    let metrics = admin_get(&admin, "/metrics");
    let series = |name: &str| {
        metrics
            .lines()
            .find(|line| line.starts_with(&format!("{name}{{pipeline=\"state\",plugin=\"test_tally\"}}")))
            .and_then(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("no {name} of test_tally in\n{metrics}"))
    };
    assert!(
        series("fleethost_state_load_duration_seconds_count") >= 1.0,
        "{metrics}"
    );
    assert!(series("fleethost_state_writes_total") >= 1.0, "{metrics}");
    assert!(
        series("fleethost_state_bytes") > 0.0,
        "the second host holds the state of its partitions"
    );
    forget_state(&group);
}

/// Each driver's fixes in `data`.
fn fixes_per_driver(data: &[Fixture]) -> BTreeMap<String, u64> {
    let mut expected = BTreeMap::new();
    for fixture in data {
        *expected.entry(fixture.key.clone()).or_default() += 1;
    }
    expected
}

#[tokio::test(flavor = "multi_thread")]
async fn state_waits_for_its_store_and_catches_up_exactly() {
    let TestNames { topic, group, .. } = TestNames::create("state-outage", 2).await;
    let data = fleet_data(50, 2_000, 0, 43);
    let positions = produce(&topic, &data).await;
    let port = free_port();
    let redis_url = format!("redis://127.0.0.1:{port}");
    let mut config = test_config(&redis_url);
    add_pipeline(&mut config, "state", &group, &topic, &["test_tally"]);
    config
        .plugins
        .insert("test_tally".into(), test_plugin("test_tally", &[]));
    let host = Host::start("state-outage", &write_config_file("state-outage", &config));
    wait_until(
        "the host says it waits for the state's store",
        Duration::from_secs(60),
        || host.log().contains("waiting for a backend") && host.log().contains("the state store"),
    );
    assert_eq!(
        committed_offsets(&group, &topic, 2),
        vec![-1, -1],
        "nothing is committed meanwhile"
    );

    let _redis = PrivateRedis::start(port);
    wait_for_commits(&group, &topic, &end_offsets(&positions, 2), Duration::from_secs(60));
    assert_eq!(tallied_at(&redis_url, &group), fixes_per_driver(&data));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stateful_pipeline_over_topics_not_co_partitioned_is_refused_naming_them() {
    let TestNames { topic, group, .. } = TestNames::create("state-copart", PARTITIONS).await;
    let orders = unique("state-copart-orders");
    create_topic(&orders, 2).await;
    let mut config = test_config(&redis_url());
    add_pipeline(&mut config, "state", &group, &topic, &["test_tally"]);
    config.pipelines[0].order_topics = vec![orders.clone()];
    config
        .plugins
        .insert("test_tally".into(), test_plugin("test_tally", &[]));
    let config = write_config_file("state-copart", &config);

    let host = Host::start("refused", &config);
    let refusal = format!("they must have as many partitions each ({topic}: {PARTITIONS}, {orders}: 2)");
    wait_until("the pipeline was refused", Duration::from_secs(60), || {
        host.log().contains(&refusal)
    });
    assert!(
        host.log().contains("test_tally keep state per partition"),
        "{}",
        host.log()
    );
}
