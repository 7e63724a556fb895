//! Proves that topics get the layout and retention the config asks for:
//! `fleethost topics` reports what is missing or differs, `--create`
//! creates the consumed, dead-letter and output topics with their
//! partitions, retention and cleanup policy and aligns the configs of
//! existing ones; the host creates the topics it writes to the same way.
//! Everything is read back from the broker with the Kafka admin API.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use fleethost_core::config::{CleanupPolicy, TopicSettings};
use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use support::*;

const HOUR_MS: i64 = 3_600_000;

#[tokio::test(flavor = "multi_thread")]
async fn topics_are_created_and_kept_as_configured() {
    let topic = unique("topics-rider-updates");
    let (dead_letters, output) = (format!("{topic}.dlq"), unique("topics-eta-updates"));
    let prefix = format!("{}:", unique("topics"));
    let mut config = test_config(&redis_url());
    add_pipeline(&mut config, "live", &unique("topics-group"), &topic, &["live_location"]);
    add_plugins_under(&mut config, &["live_location"], &prefix);
    let plugin = config.plugins.get_mut("live_location").expect("plugin");
    plugin.grants.produce_topics = vec![output.clone()];
    config.topics = BTreeMap::from([
        (
            topic.clone(),
            TopicSettings {
                partitions: Some(3),
                retention_ms: Some(6 * HOUR_MS),
                cleanup_policy: Some(CleanupPolicy::Delete),
                ..TopicSettings::default()
            },
        ),
        (
            dead_letters.clone(),
            TopicSettings {
                retention_ms: Some(7 * 24 * HOUR_MS),
                ..TopicSettings::default()
            },
        ),
        (
            output.clone(),
            TopicSettings {
                partitions: Some(2),
                cleanup_policy: Some(CleanupPolicy::Compact),
                ..TopicSettings::default()
            },
        ),
    ]);
    let path = write_config_file("topics", &config);
    let path_arg = path.to_str().expect("utf-8 path");

    // The host creates the topics it writes to, as configured.
    let mut host = Host::start("topics", &path);
    wait_until(
        "the host created its dead-letter topic",
        Duration::from_secs(60),
        || topic_partitions(&dead_letters).is_some(),
    );
    host.terminate(Duration::from_secs(30));
    assert_eq!(
        topic_partitions(&dead_letters),
        Some(1),
        "a dead-letter topic's default"
    );
    assert_eq!(topic_partitions(&output), Some(2));
    assert_eq!(
        topic_config(&dead_letters, "retention.ms").await,
        (7 * 24 * HOUR_MS).to_string()
    );
    assert_eq!(topic_config(&output, "cleanup.policy").await, "compact");

    // The consumed topic is its producers' to create: reported missing.
    let (ok, report) = fleethost(&["topics", "--config", path_arg]);
    assert!(
        !ok && report.contains(&format!("{topic} (consumed): missing")),
        "{report}"
    );

    let created = fleethost_command(&["topics", "--config", path_arg, "--create"]);
    assert!(created.contains(&format!("created {topic}")), "{created}");
    assert_eq!(topic_partitions(&topic), Some(3));
    assert_eq!(topic_config(&topic, "retention.ms").await, (6 * HOUR_MS).to_string());
    assert_eq!(topic_config(&topic, "cleanup.policy").await, "delete");

    // A changed retention is set on the existing topic, its partitions kept.
    config.topics.get_mut(&topic).expect("settings").retention_ms = Some(2 * HOUR_MS);
    std::fs::write(&path, config_toml(&config)).expect("rewrite config");
    let (ok, report) = fleethost(&["topics", "--config", path_arg]);
    assert!(
        !ok && report.contains(&format!("retention.ms {}, configured {}", 6 * HOUR_MS, 2 * HOUR_MS)),
        "{report}"
    );
    let (aligned, report) = fleethost(&["topics", "--config", path_arg, "--create"]);
    if aligned {
        assert!(report.contains(&format!("set the configs of {topic}")), "{report}");
        assert_eq!(topic_config(&topic, "retention.ms").await, (2 * HOUR_MS).to_string());
        assert_eq!(
            topic_config(&topic, "cleanup.policy").await,
            "delete",
            "the other configs stay"
        );
        let shown = fleethost_command(&["topics", "--config", path_arg]);
        assert!(
            shown.contains(&format!("{topic} (consumed): 3 partition(s)")) && !shown.contains("differs"),
            "{shown}"
        );
    } else {
        // A broker without AlterConfigs (Tansu): the error names the topic
        // and why, and the topic is as it was.
        assert!(
            report.contains(&format!(
                "cannot set the configs of {topic} (the broker does not support AlterConfigs"
            )),
            "{report}"
        );
        assert_eq!(topic_config(&topic, "retention.ms").await, (6 * HOUR_MS).to_string());
    }
}

/// The partitions of `topic` from the broker's metadata; `None` when it
/// does not exist.
fn topic_partitions(topic: &str) -> Option<usize> {
    let consumer: rdkafka::consumer::BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .expect("metadata client");
    let metadata =
        rdkafka::consumer::Consumer::fetch_metadata(&consumer, Some(topic), Duration::from_secs(10)).expect("metadata");
    metadata
        .topics()
        .first()
        .filter(|found| found.error().is_none() && !found.partitions().is_empty())
        .map(|found| found.partitions().len())
}

/// The value of `key` in `topic`'s configs, read with DescribeConfigs.
async fn topic_config(topic: &str, key: &str) -> String {
    let admin: AdminClient<DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .expect("admin client");
    let resources = admin
        .describe_configs(&[ResourceSpecifier::Topic(topic)], &AdminOptions::new())
        .await
        .expect("describe configs");
    let resource = resources
        .into_iter()
        .next()
        .expect("one resource")
        .expect("topic described");
    resource
        .get(key)
        .and_then(|entry| entry.value.clone())
        .unwrap_or_else(|| panic!("{topic} has no {key}: {:?}", resource.entries))
}
