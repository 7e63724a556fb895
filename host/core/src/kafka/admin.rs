//! Topic administration: the host makes sure the topics it writes to exist
//! with their configured layout instead of relying on a broker's
//! auto-creation, and `fleethost topics` reads back and aligns what the
//! brokers hold (the Kafka admin API: CreateTopics, Metadata,
//! DescribeConfigs, AlterConfigs).

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::admin::{
    AdminClient, AdminOptions, AlterConfig, ConfigSource, NewTopic, ResourceSpecifier, TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

use crate::config::{KafkaConfig, TopicSettings};

/// How long one admin request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A topic to create, or to check what the brokers hold against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    /// The topic's name.
    pub name: String,
    /// Partitions to create it with; `None`: the broker's default.
    pub partitions: Option<i32>,
    /// Copies of each partition; `None`: the broker's default.
    pub replication_factor: Option<i32>,
    /// Topic-level broker configs, by Kafka name.
    pub configs: BTreeMap<String, String>,
}

impl TopicSpec {
    /// Topic `name` as `settings` (its `[topics."NAME"]`) lay it out, with
    /// `default_partitions` when they name no partition count.
    pub fn configured(name: &str, settings: Option<&TopicSettings>, default_partitions: Option<i32>) -> Self {
        Self {
            name: name.to_string(),
            partitions: settings.and_then(|settings| settings.partitions).or(default_partitions),
            replication_factor: settings.and_then(|settings| settings.replication_factor),
            configs: settings.map(TopicSettings::broker_configs).unwrap_or_default(),
        }
    }

    /// A topic of `partitions` partitions and the broker's defaults
    /// otherwise: what the gateway and the simulator create.
    pub fn with_partitions(name: &str, partitions: i32) -> Self {
        Self {
            name: name.to_string(),
            partitions: Some(partitions),
            replication_factor: None,
            configs: BTreeMap::new(),
        }
    }
}

/// Creates each topic that does not exist yet, with `partitions` partitions and
/// the broker's default replication. Existing topics are left as they are.
pub async fn ensure_topics(kafka: &KafkaConfig, topics: &[String], partitions: i32) -> Result<(), KafkaError> {
    let specs: Vec<TopicSpec> = topics
        .iter()
        .map(|topic| TopicSpec::with_partitions(topic, partitions))
        .collect();
    create_missing(kafka, &specs).await.map(|_| ())
}

/// Creates each topic of `specs` that does not exist yet, with its
/// partitions, replication and configs; returns the names it created.
/// Existing topics are left as they are.
pub async fn create_missing(kafka: &KafkaConfig, specs: &[TopicSpec]) -> Result<Vec<String>, KafkaError> {
    if specs.is_empty() {
        return Ok(Vec::new());
    }
    let admin = client(kafka)?;
    let new_topics: Vec<NewTopic<'_>> = specs
        .iter()
        .map(|spec| {
            let replication = TopicReplication::Fixed(spec.replication_factor.unwrap_or(-1));
            spec.configs.iter().fold(
                NewTopic::new(&spec.name, spec.partitions.unwrap_or(-1), replication),
                |topic, (key, value)| topic.set(key, value),
            )
        })
        .collect();
    let mut created = Vec::new();
    for result in admin.create_topics(&new_topics, &options()).await? {
        match result {
            Ok(topic) => created.push(topic),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(KafkaError::AdminOp(code)).inspect_err(|_| tracing::error!(%topic, "cannot create topic"));
            }
        }
    }
    Ok(created)
}

/// A topic as the brokers hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicOnBroker {
    /// The topic's name.
    pub name: String,
    /// Its partitions and the copies of its first one; `None`: the topic
    /// does not exist.
    pub layout: Option<(i32, i32)>,
    /// Its configs, by Kafka name, with whether each was set on the topic
    /// (rather than inherited from the broker).
    pub configs: BTreeMap<String, (String, bool)>,
}

/// Reads the layout and configs of each of `names` from the brokers.
pub async fn describe(kafka: &KafkaConfig, names: &[String]) -> Result<Vec<TopicOnBroker>, KafkaError> {
    let admin = client(kafka)?;
    // One request for every topic: a request naming a missing topic makes
    // some brokers create it (Kafka with `auto.create.topics.enable`, Tansu
    // always), and reading must not create anything.
    let reader: BaseConsumer = super::client_config::reader(kafka)?.create()?;
    let all = tokio::task::spawn_blocking(move || {
        let metadata = reader.fetch_metadata(None, REQUEST_TIMEOUT)?;
        Ok::<_, KafkaError>(
            metadata
                .topics()
                .iter()
                .filter(|topic| topic.error().is_none() && !topic.partitions().is_empty())
                .map(|topic| {
                    let copies = topic.partitions()[0].replicas().len() as i32;
                    (topic.name().to_string(), (topic.partitions().len() as i32, copies))
                })
                .collect::<BTreeMap<String, (i32, i32)>>(),
        )
    })
    .await
    .map_err(|_| KafkaError::Canceled)??;
    let metadata = names.iter().map(|name| all.get(name).copied());
    let mut topics = Vec::with_capacity(names.len());
    for (name, layout) in names.iter().zip(metadata) {
        let mut configs = BTreeMap::new();
        if layout.is_some() {
            let resources = admin
                .describe_configs(&[ResourceSpecifier::Topic(name)], &options())
                .await?;
            for resource in resources {
                let resource = resource.map_err(KafkaError::AdminOp)?;
                for entry in resource.entries {
                    let set_on_topic = entry.source == ConfigSource::DynamicTopic;
                    configs.insert(entry.name, (entry.value.unwrap_or_default(), set_on_topic));
                }
            }
        }
        topics.push(TopicOnBroker {
            name: name.clone(),
            layout,
            configs,
        });
    }
    Ok(topics)
}

/// Sets the configs of `spec` on an existing topic, keeping the other
/// configs set on it (`current`, from [`describe`]): AlterConfigs replaces
/// a topic's whole set.
pub async fn align_configs(kafka: &KafkaConfig, spec: &TopicSpec, current: &TopicOnBroker) -> Result<(), KafkaError> {
    let mut wanted: BTreeMap<&str, &str> = current
        .configs
        .iter()
        .filter(|(_, (_, set_on_topic))| *set_on_topic)
        .map(|(key, (value, _))| (key.as_str(), value.as_str()))
        .collect();
    for (key, value) in &spec.configs {
        wanted.insert(key, value);
    }
    let alter = wanted.into_iter().fold(
        AlterConfig::new(ResourceSpecifier::Topic(&spec.name)),
        |alter, (key, value)| alter.set(key, value),
    );
    for result in client(kafka)?.alter_configs(&[alter], &options()).await? {
        result.map_err(|(_, code)| KafkaError::AdminOp(code))?;
    }
    Ok(())
}

/// Whether `error` says the broker lacks the admin request asked of it
/// (AlterConfigs on a Kafka-compatible broker that does not implement it).
pub fn unsupported_by_broker(error: &KafkaError) -> bool {
    matches!(
        error,
        KafkaError::AdminOp(RDKafkaErrorCode::UnsupportedFeature)
            | KafkaError::AdminOp(RDKafkaErrorCode::UnsupportedVersion)
            | KafkaError::AdminOp(RDKafkaErrorCode::InvalidRequest)
    )
}

fn client(kafka: &KafkaConfig) -> Result<AdminClient<DefaultClientContext>, KafkaError> {
    super::client_config::admin(kafka)?.create()
}

fn options() -> AdminOptions {
    AdminOptions::new()
        .operation_timeout(Some(REQUEST_TIMEOUT))
        .request_timeout(Some(REQUEST_TIMEOUT))
}
