//! `fleethost topics`: the topics a config involves, as the brokers hold
//! them against what the config asks, and (with `--create`) created and
//! aligned.

use std::path::PathBuf;

use anyhow::Context as _;

use fleethost_core::config::Config;
use fleethost_core::console;
use fleethost_core::kafka::admin::TopicSpec;
use fleethost_core::kafka::admin::{self, TopicOnBroker};
use fleethost_core::pipeline::topic_plan::{TopicRole, topic_plan};

/// Show every topic the config involves (consumed, dead letters, plugin
/// outputs): whether it exists, its partitions, replication, retention and
/// cleanup policy on the brokers, and where they differ from
/// `[topics."NAME"]`. With `--create`: create the missing ones and set the
/// configured retention, cleanup policy and properties on existing ones.
/// Partition counts of existing topics are reported, never changed: adding
/// partitions moves keys, and with them a driver's ordering.
#[derive(Debug, clap::Args)]
pub struct TopicsArgs {
    /// The TOML config file.
    #[arg(long, short)]
    pub config: PathBuf,
    /// Create the missing topics and align the configs of existing ones.
    #[arg(long)]
    pub create: bool,
}

/// The configs `fleethost topics` always shows, configured or not.
const SHOWN_CONFIGS: [&str; 3] = ["retention.ms", "retention.bytes", "cleanup.policy"];

impl TopicsArgs {
    /// Reads the topics from the brokers, creates and aligns them when
    /// asked, and prints each; an error when a difference is left.
    pub async fn execute(self) -> anyhow::Result<()> {
        let config = Config::load(&self.config)?;
        let plan = topic_plan(&config);
        let names: Vec<String> = plan.iter().map(|(_, spec)| spec.name.clone()).collect();
        let mut found = admin::describe(&config.kafka, &names)
            .await
            .with_context(|| format!("cannot read the topics {names:?} from the brokers"))?;
        if self.create {
            let missing: Vec<TopicSpec> = plan
                .iter()
                .zip(&found)
                .filter(|(_, on_broker)| on_broker.layout.is_none())
                .map(|((_, spec), _)| spec.clone())
                .collect();
            let missing_names: Vec<&str> = missing.iter().map(|spec| spec.name.as_str()).collect();
            let created = admin::create_missing(&config.kafka, &missing)
                .await
                .with_context(|| format!("cannot create the topics {missing_names:?}"))?;
            for name in created {
                console::out(&format!("created {name}"));
            }
            for ((_, spec), on_broker) in plan.iter().zip(&found) {
                if on_broker.layout.is_some() && !config_differences(spec, on_broker).is_empty() {
                    admin::align_configs(&config.kafka, spec, on_broker)
                        .await
                        .map_err(|error| {
                            let why = if admin::unsupported_by_broker(&error) {
                                " (the broker does not support AlterConfigs: set them with its own tools)"
                            } else {
                                ""
                            };
                            anyhow::Error::new(error).context(format!("cannot set the configs of {}{why}", spec.name))
                        })?;
                    console::out(&format!("set the configs of {}", spec.name));
                }
            }
            found = admin::describe(&config.kafka, &names)
                .await
                .with_context(|| format!("cannot read the topics {names:?} from the brokers"))?;
        }
        let mut differing = Vec::new();
        for ((role, spec), on_broker) in plan.iter().zip(&found) {
            console::out(&describe_line(*role, spec, on_broker));
            let mut differences = config_differences(spec, on_broker);
            if let (Some((partitions, _)), Some(wanted)) = (on_broker.layout, spec.partitions)
                && partitions != wanted
            {
                differences.push(format!("partitions {partitions}, configured {wanted} (not changed)"));
            }
            if on_broker.layout.is_none() {
                differences.push("missing".into());
            }
            for difference in &differences {
                console::out(&format!("    differs: {difference}"));
            }
            if !differences.is_empty() {
                differing.push(spec.name.clone());
            }
        }
        if !differing.is_empty() {
            let hint = if self.create {
                ""
            } else {
                "; `fleethost topics --create` creates and aligns them"
            };
            anyhow::bail!(
                "{} topic(s) differ from the config: {differing:?}{hint}",
                differing.len()
            );
        }
        Ok(())
    }
}

/// One line: the topic, its role and what the brokers hold.
fn describe_line(role: TopicRole, spec: &TopicSpec, on_broker: &TopicOnBroker) -> String {
    let Some((partitions, copies)) = on_broker.layout else {
        return format!("{} ({}): missing", spec.name, role.as_str());
    };
    let configs: Vec<String> = SHOWN_CONFIGS
        .iter()
        .copied()
        .chain(
            spec.configs
                .keys()
                .map(String::as_str)
                .filter(|key| !SHOWN_CONFIGS.contains(key)),
        )
        .map(|key| {
            let value = on_broker
                .configs
                .get(key)
                .map_or("(not reported)", |(value, _)| value.as_str());
            format!("{key} {value}")
        })
        .collect();
    format!(
        "{} ({}): {partitions} partition(s), replication {copies}, {}",
        spec.name,
        role.as_str(),
        configs.join(", ")
    )
}

/// The configured configs the brokers hold otherwise.
fn config_differences(spec: &TopicSpec, on_broker: &TopicOnBroker) -> Vec<String> {
    if on_broker.layout.is_none() {
        return Vec::new();
    }
    spec.configs
        .iter()
        .filter_map(|(key, wanted)| {
            let value = on_broker.configs.get(key).map(|(value, _)| value.as_str());
            (value != Some(wanted.as_str()))
                .then(|| format!("{key} {}, configured {wanted}", value.unwrap_or("(not reported)")))
        })
        .collect()
}
