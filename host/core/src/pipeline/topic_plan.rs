//! Which topics a config involves, in which role, and how each should be
//! laid out: the consumed topics, their dead-letter topics and the plugins'
//! output topics, with `[topics."NAME"]` over the role's defaults. The host
//! creates the topics it writes to from this plan; `fleethost topics`
//! shows and creates all of them (through `kafka::admin`).

use std::collections::BTreeMap;

use super::dead_letter::dead_letter_topic;
use crate::config::{Config, TopicSettings};
use crate::kafka::admin::TopicSpec;

/// Partitions of a dead-letter topic without `[topics."NAME"].partitions`.
pub const DEAD_LETTER_PARTITIONS: i32 = 1;

/// Partitions of a plugin output topic without `[topics."NAME"].partitions`.
pub const OUTPUT_TOPIC_PARTITIONS: i32 = 4;

/// Why the host has a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TopicRole {
    /// A pipeline consumes it (`topics`, `order_topics`).
    Consumed,
    /// Dead letters of a consumed topic go there.
    DeadLetters,
    /// A plugin produces to it (`grants.produce_topics`).
    PluginOutput,
}

impl TopicRole {
    /// How `fleethost topics` names the role.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Consumed => "consumed",
            Self::DeadLetters => "dead letters",
            Self::PluginOutput => "plugin output",
        }
    }
}

/// `settings` over the defaults of `role`, for topic `name`.
fn planned(name: &str, role: TopicRole, settings: Option<&TopicSettings>) -> TopicSpec {
    let default_partitions = match role {
        TopicRole::Consumed => None,
        TopicRole::DeadLetters => Some(DEAD_LETTER_PARTITIONS),
        TopicRole::PluginOutput => Some(OUTPUT_TOPIC_PARTITIONS),
    };
    TopicSpec::configured(name, settings, default_partitions)
}

/// Every topic `config` involves, each once, by role then name.
pub fn topic_plan(config: &Config) -> Vec<(TopicRole, TopicSpec)> {
    let mut roles: BTreeMap<String, TopicRole> = BTreeMap::new();
    for pipeline in &config.pipelines {
        for topic in pipeline.topics.iter().chain(&pipeline.order_topics) {
            roles.insert(topic.clone(), TopicRole::Consumed);
        }
    }
    let consumed: Vec<String> = roles.keys().cloned().collect();
    for topic in consumed {
        roles.entry(dead_letter_topic(&topic)).or_insert(TopicRole::DeadLetters);
    }
    for plugin in config.plugins.values() {
        for topic in &plugin.grants.produce_topics {
            roles.entry(topic.clone()).or_insert(TopicRole::PluginOutput);
        }
    }
    let mut plan: Vec<(TopicRole, TopicSpec)> = roles
        .into_iter()
        .map(|(name, role)| (role, planned(&name, role, config.topics.get(&name))))
        .collect();
    plan.sort_by(|(a_role, a), (b_role, b)| (a_role, &a.name).cmp(&(b_role, &b.name)));
    plan
}

/// The topics the host itself creates when they are missing: those it
/// writes to (dead letters, plugin outputs). Consumed topics are their
/// producers' to create (the gateway, `fleethost topics --create`).
pub fn topics_the_host_writes(config: &Config) -> Vec<TopicSpec> {
    topic_plan(config)
        .into_iter()
        .filter(|(role, _)| *role != TopicRole::Consumed)
        .map(|(_, spec)| spec)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_once_with_its_settings_over_the_role_defaults() {
        let config = Config::parse(
            r#"
[kafka]
bootstrap_servers = "127.0.0.1:9092"

[[pipelines]]
name = "a"
group_id = "a"
topics = ["rider-updates"]
order_topics = ["order-events"]
plugins = ["p"]

[[pipelines]]
name = "b"
group_id = "b"
topics = ["rider-updates"]
plugins = ["q"]

[plugins.p]
path = "p.wasm"
grants = { produce_topics = ["eta-updates", "fare-updates"] }

[plugins.q]
path = "q.wasm"
grants = { produce_topics = ["eta-updates"] }

[topics."rider-updates"]
partitions = 12
retention_ms = 86400000

[topics."rider-updates.dlq"]
retention_ms = 604800000
cleanup_policy = "delete"

[topics."eta-updates"]
cleanup_policy = "compact"
properties = { "min.insync.replicas" = "1" }
"#,
            std::path::Path::new("test.toml"),
        )
        .expect("valid config");
        let plan = topic_plan(&config);
        let names: Vec<(&str, &str)> = plan
            .iter()
            .map(|(role, spec)| (role.as_str(), spec.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("consumed", "order-events"),
                ("consumed", "rider-updates"),
                ("dead letters", "order-events.dlq"),
                ("dead letters", "rider-updates.dlq"),
                ("plugin output", "eta-updates"),
                ("plugin output", "fare-updates"),
            ]
        );
        let spec = |name: &str| plan.iter().find(|(_, spec)| spec.name == name).expect(name).1.clone();
        assert_eq!(spec("rider-updates").partitions, Some(12));
        assert_eq!(spec("rider-updates").configs["retention.ms"], "86400000");
        assert_eq!(spec("order-events").partitions, None);
        assert_eq!(spec("rider-updates.dlq").partitions, Some(DEAD_LETTER_PARTITIONS));
        assert_eq!(spec("rider-updates.dlq").configs["cleanup.policy"], "delete");
        assert_eq!(spec("fare-updates").partitions, Some(OUTPUT_TOPIC_PARTITIONS));
        assert_eq!(spec("eta-updates").configs["cleanup.policy"], "compact");
        assert_eq!(spec("eta-updates").configs["min.insync.replicas"], "1");
        let written: Vec<String> = topics_the_host_writes(&config)
            .into_iter()
            .map(|spec| spec.name)
            .collect();
        assert_eq!(
            written,
            ["order-events.dlq", "rider-updates.dlq", "eta-updates", "fare-updates"]
        );
    }

    #[test]
    fn settings_that_cannot_be_are_refused_with_their_key() {
        for (settings, key) in [
            ("partitions = 0", "topics.\"t\".partitions"),
            ("replication_factor = 0", "topics.\"t\".replication_factor"),
            ("retention_ms = -2", "topics.\"t\".retention_ms"),
            (
                "properties = { \"retention.ms\" = \"1\" }",
                "topics.\"t\".properties.\"retention.ms\"",
            ),
        ] {
            let text = format!(
                "[kafka]\nbootstrap_servers = \"b:9092\"\n[[pipelines]]\nname = \"a\"\ngroup_id = \"a\"\ntopics = [\"t\"]\nplugins = [\"p\"]\n[plugins.p]\npath = \"p.wasm\"\n[topics.\"t\"]\n{settings}\n"
            );
            let error = Config::parse(&text, std::path::Path::new("test.toml")).expect_err(settings);
            assert!(error.to_string().contains(key), "{settings}: {error}");
        }
    }
}
