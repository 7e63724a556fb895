//! A plugin version replayed over a range of its pipeline's topics
//! (`fleethost replay`), beside the version that runs live, so that a new
//! version can be judged by what it would have done before it is deployed.
//!
//! The range is read once, in a shadow consumer group
//! (`{group_id}.replay`), and given to both versions: the configured one
//! ("live") and the candidate. Each runs alone, in its own pipeline name,
//! with its writes sent to its own shadow sinks (`capabilities/shadow.rs`):
//! kv keys under `replay:{run}:{version}:`, tables `{table}_r{run}_{version}`,
//! topics `{topic}.replay-{run}-{version}`. Live keys, rows and topics are
//! never touched. At the end the two versions' effects are compared: the
//! events each rejected, and the kv state, publications, records and rows
//! each left.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::chain::{ChainError, PluginChain};
use super::stats::PipelineStats;
use super::topic_formats::TopicFormats;
use super::topic_plan::OUTPUT_TOPIC_PARTITIONS;
use super::worker::decode_into;
use crate::capabilities::Backends;
use crate::capabilities::shadow::{Recording, Shadow};
use crate::config::{Config, PipelineConfig, PluginConfig};
use crate::kafka::admin::TopicSpec;
use crate::kafka::producer::Producer;
use crate::kafka::topic_reader::{Bound, PartitionRange, StoredRecord};
use crate::runtime::{Batch, LoadError, LoadedPlugin, PluginRuntime, PluginSlot};

/// What to replay.
#[derive(Debug, Clone)]
pub struct ReplayRequest {
    /// The plugin, by its name in the config.
    pub plugin: String,
    /// Its pipeline, when more than one runs it.
    pub pipeline: Option<String>,
    /// The candidate's component file; without it the configured file is
    /// replayed against itself (a check that the plugin is deterministic).
    pub candidate: Option<PathBuf>,
    /// The start of the range.
    pub from: Bound,
    /// Its end (inclusive); `None`: the end of each partition now.
    pub to: Option<Bound>,
    /// Names this run's shadow sinks; short, lowercase letters and digits.
    pub run: String,
}

/// Why a replay could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The request does not fit the config.
    #[error("{0}")]
    Request(String),
    /// Kafka could not be read or written.
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// A version could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A backend could not be set up.
    #[error(transparent)]
    Backend(#[from] crate::capabilities::BackendError),
    /// Shutdown interrupted it.
    #[error("interrupted")]
    Interrupted,
}

/// What one version did over the range.
#[derive(Debug, Clone)]
pub struct VersionRun {
    /// `live` or `candidate`.
    pub label: &'static str,
    /// `name@version`.
    pub version: String,
    /// Events it rejected or failed, by (topic, partition, offset), with why.
    pub rejected: BTreeMap<(String, i32, i64), String>,
    /// The effects of its writes, in the plugin's own names.
    pub recording: Recording,
    /// Where its writes went.
    pub sinks: String,
}

/// A finished replay.
#[derive(Debug, Clone)]
pub struct ReplayReport {
    /// The pipeline replayed.
    pub pipeline: String,
    /// The shadow consumer group the range was read in.
    pub group: String,
    /// The partitions and offsets read.
    pub ranges: Vec<PartitionRange>,
    /// Records read, and how many of them did not decode (the live
    /// pipeline dead-letters those; neither version saw them).
    pub records: usize,
    pub undecodable: usize,
    /// What the configured version and the candidate did.
    pub live: VersionRun,
    pub candidate: VersionRun,
}

/// How two sets of effects differ, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Difference {
    /// Names only the live version's effects have, and only the
    /// candidate's.
    pub only_live: Vec<String>,
    pub only_candidate: Vec<String>,
    /// Present in both with different values: name, live, candidate.
    pub changed: Vec<(String, String, String)>,
}

impl Difference {
    /// Whether the two sides are the same.
    pub fn is_empty(&self) -> bool {
        self.only_live.is_empty() && self.only_candidate.is_empty() && self.changed.is_empty()
    }

    /// Compares two maps of name to value.
    pub fn of_maps(live: &BTreeMap<String, String>, candidate: &BTreeMap<String, String>) -> Self {
        let mut difference = Self::default();
        for (name, value) in live {
            match candidate.get(name) {
                None => difference.only_live.push(name.clone()),
                Some(other) if other != value => difference.changed.push((name.clone(), value.clone(), other.clone())),
                Some(_) => {}
            }
        }
        difference.only_candidate = candidate
            .keys()
            .filter(|name| !live.contains_key(*name))
            .cloned()
            .collect();
        difference
    }
}

impl ReplayReport {
    /// The differences: events, kv state, publications, records, rows.
    pub fn differences(&self) -> BTreeMap<&'static str, Difference> {
        let (live, candidate) = (&self.live, &self.candidate);
        let rejected = |run: &VersionRun| -> BTreeMap<String, String> {
            run.rejected
                .iter()
                .map(|((topic, partition, offset), why)| (format!("{topic}/{partition}@{offset}"), why.clone()))
                .collect()
        };
        let counted = |lists: &BTreeMap<String, Vec<String>>| -> BTreeMap<String, String> {
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for (name, items) in lists {
                for item in items {
                    *counts.entry(format!("{name}: {item}")).or_default() += 1;
                }
            }
            counts
                .into_iter()
                .map(|(item, count)| (item, count.to_string()))
                .collect()
        };
        let produced = |recording: &Recording| -> BTreeMap<String, Vec<String>> {
            recording
                .produced
                .iter()
                .map(|(topic, records)| {
                    let records = records
                        .iter()
                        .map(|(key, payload)| format!("{key} {payload}"))
                        .collect();
                    (topic.clone(), records)
                })
                .collect()
        };
        BTreeMap::from([
            (
                "rejected events",
                Difference::of_maps(&rejected(live), &rejected(candidate)),
            ),
            (
                "kv state",
                Difference::of_maps(&live.recording.kv, &candidate.recording.kv),
            ),
            (
                "publications",
                Difference::of_maps(
                    &counted(&live.recording.published),
                    &counted(&candidate.recording.published),
                ),
            ),
            (
                "produced records",
                Difference::of_maps(
                    &counted(&produced(&live.recording)),
                    &counted(&produced(&candidate.recording)),
                ),
            ),
            (
                "rows",
                Difference::of_maps(&counted(&live.recording.rows), &counted(&candidate.recording.rows)),
            ),
        ])
    }
}

/// Replays `request` over the topics of its pipeline in `config`.
pub async fn replay(
    config: &Config,
    runtime: &PluginRuntime,
    request: &ReplayRequest,
    stop: &CancellationToken,
) -> Result<ReplayReport, ReplayError> {
    let plugin_config = config
        .plugins
        .get(&request.plugin)
        .ok_or_else(|| {
            ReplayError::Request(format!(
                "no plugin named {:?} in the config (known: {:?})",
                request.plugin,
                config.plugins.keys().collect::<Vec<_>>()
            ))
        })?
        .clone();
    let pipeline = pipeline_of(config, request)?;
    let topics: Vec<String> = pipeline.topics.iter().chain(&pipeline.order_topics).cloned().collect();
    let group = format!("{}.replay", pipeline.group_id);
    let (kafka, from, to, group_name) = (config.kafka.clone(), request.from, request.to, group.clone());
    let (ranges, records) = tokio::task::spawn_blocking(move || {
        let ranges = crate::kafka::topic_reader::resolve_range(&kafka, &topics, from, to)?;
        let records = crate::kafka::topic_reader::read_ranges(&kafka, &group_name, &ranges)?;
        Ok::<_, rdkafka::error::KafkaError>((ranges, records))
    })
    .await
    .map_err(|_| ReplayError::Interrupted)??;
    tracing::info!(pipeline = %pipeline.name, %group, records = records.len(), "range read; replaying");

    let producer = Producer::new(&config.kafka)?;
    let candidate_config = PluginConfig {
        path: request.candidate.clone().unwrap_or_else(|| plugin_config.path.clone()),
        ..plugin_config.clone()
    };
    let formats = TopicFormats::load(config, pipeline).map_err(|error| ReplayError::Request(error.to_string()))?;
    for topic in pipeline.topics.iter().chain(&pipeline.order_topics) {
        let payloads = records.iter().filter(|record| &record.topic == topic);
        formats
            .learn_unknown(topic, payloads.map(|record| record.payload.as_deref()))
            .await;
    }
    let (batches, undecodable) = batches_of(pipeline, &formats, &records);
    let mut runs = Vec::new();
    for (label, version_config) in [("live", &plugin_config), ("candidate", &candidate_config)] {
        let shadow = Arc::new(Shadow::new(
            &format!("replay:{}:{label}:", request.run),
            &format!("r{}_{label}", request.run),
            &format!("replay-{}-{label}", request.run),
        ));
        let shadow_topics: Vec<TopicSpec> = version_config
            .grants
            .produce_topics
            .iter()
            .map(|topic| TopicSpec::with_partitions(&shadow.topic(topic), OUTPUT_TOPIC_PARTITIONS))
            .collect();
        crate::kafka::admin::create_missing(&config.kafka, &shadow_topics).await?;
        let mut backends = Backends::connect(config, Some(producer.clone()))?;
        backends.shadow = Some(shadow.clone());
        let slot = load_version(runtime, &request.plugin, version_config, backends).await?;
        let version = slot.current().label();
        let rejected = run_version(pipeline, label, slot, &batches, stop).await?;
        runs.push(VersionRun {
            label,
            version,
            rejected,
            recording: shadow.recording(),
            sinks: format!(
                "kv keys and channels under {}, tables *_{}, topics *.{}",
                shadow.key(""),
                format_args!("r{}_{label}", request.run),
                format_args!("replay-{}-{label}", request.run)
            ),
        });
    }
    let candidate = runs.pop().expect("two runs");
    let live = runs.pop().expect("two runs");
    Ok(ReplayReport {
        pipeline: pipeline.name.clone(),
        group,
        ranges,
        records: records.len(),
        undecodable,
        live,
        candidate,
    })
}

/// The pipeline `request` replays: the one named, or the only one that
/// runs the plugin.
fn pipeline_of<'a>(config: &'a Config, request: &ReplayRequest) -> Result<&'a PipelineConfig, ReplayError> {
    let running: Vec<&PipelineConfig> = config
        .pipelines
        .iter()
        .filter(|pipeline| pipeline.plugins.contains(&request.plugin))
        .filter(|pipeline| request.pipeline.as_ref().is_none_or(|name| &pipeline.name == name))
        .collect();
    match running.as_slice() {
        [pipeline] => Ok(pipeline),
        [] => Err(ReplayError::Request(format!(
            "no pipeline{} runs plugin {:?}",
            request
                .pipeline
                .as_ref()
                .map(|name| format!(" named {name:?}"))
                .unwrap_or_default(),
            request.plugin
        ))),
        several => Err(ReplayError::Request(format!(
            "plugin {:?} runs in pipelines {:?}; name one with --pipeline",
            request.plugin,
            several.iter().map(|pipeline| &pipeline.name).collect::<Vec<_>>()
        ))),
    }
}

/// Compiles and initialises one version, in a slot of its own.
async fn load_version(
    runtime: &PluginRuntime,
    name: &str,
    config: &PluginConfig,
    backends: Backends,
) -> Result<Arc<PluginSlot>, ReplayError> {
    let (loader, name_owned, config_owned, backends_owned) =
        (runtime.clone(), name.to_string(), config.clone(), backends.clone());
    let plugin = tokio::task::spawn_blocking(move || {
        LoadedPlugin::load_and_check(&loader, &name_owned, &config_owned, backends_owned)
    })
    .await
    .map_err(|_| ReplayError::Interrupted)??;
    Ok(Arc::new(PluginSlot::new(
        name,
        config.clone(),
        runtime.clone(),
        backends,
        Arc::new(plugin),
    )))
}

/// The range's records decoded once, for both versions: per partition in
/// offset order, in batches of the pipeline's size (at most, by records
/// read); and how many records did not decode.
fn batches_of(pipeline: &PipelineConfig, formats: &TopicFormats, records: &[StoredRecord]) -> (Vec<Batch>, usize) {
    let mut partitions: BTreeMap<(&str, i32), Vec<&StoredRecord>> = BTreeMap::new();
    for record in records {
        partitions
            .entry((&record.topic, record.partition))
            .or_default()
            .push(record);
    }
    let (mut batches, mut undecodable) = (Vec::new(), 0);
    for ((topic, partition), records) in partitions {
        let carries_orders = pipeline.carries_orders(topic);
        for chunk in records.chunks(pipeline.batch.max_events) {
            let mut batch = Batch {
                pipeline: pipeline.name.clone(),
                topic: topic.to_string(),
                partition,
                events: Vec::new(),
                orders: Vec::new(),
            };
            for record in chunk {
                let decoded = decode_into(
                    &mut batch,
                    formats.of(topic),
                    carries_orders,
                    record.payload.as_deref(),
                    record.timestamp_ms,
                    record.offset,
                    &pipeline.events,
                );
                undecodable += usize::from(decoded.is_err());
            }
            if !batch.is_empty() {
                batches.push(batch);
            }
        }
    }
    (batches, undecodable)
}

/// Runs `batches` through one version; the events it rejected or failed.
async fn run_version(
    pipeline: &PipelineConfig,
    label: &str,
    slot: Arc<PluginSlot>,
    batches: &[Batch],
    stop: &CancellationToken,
) -> Result<BTreeMap<(String, i32, i64), String>, ReplayError> {
    // Its own pipeline name: its own kv write guards and Redis connection.
    let name = format!("{}~replay-{label}", pipeline.name);
    let stats = Arc::new(PipelineStats::new(&name, &crate::metrics::Families::default()));
    let mut chain = PluginChain::new(&name, &[slot], pipeline.failure.clone(), stats, None, None);
    let mut rejected = BTreeMap::new();
    for batch in batches {
        let offsets = batch.offsets();
        let batch = Batch {
            pipeline: name.clone(),
            ..batch.clone()
        };
        let (topic, partition) = (batch.topic.clone(), batch.partition);
        let failures = match chain.run(batch, stop).await {
            Ok(failures) => failures
                .into_iter()
                .map(|(index, failure)| (index, format!("{}: {}", failure.kind, failure.reason)))
                .collect(),
            Err(ChainError::Cancelled) => return Err(ReplayError::Interrupted),
            Err(error @ ChainError::Stopped { .. }) => {
                let why = error.to_string();
                (0..offsets.len()).map(|index| (index, why.clone())).collect::<Vec<_>>()
            }
        };
        for (index, why) in failures {
            rejected.insert((topic.clone(), partition, offsets[index]), why);
        }
    }
    Ok(rejected)
}

/// A short name for a replay run's sinks: base 36 of the seconds since the
/// epoch, lowercase letters and digits.
pub fn run_name() -> String {
    let mut seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let mut name = Vec::new();
    while seconds > 0 {
        name.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[(seconds % 36) as usize]);
        seconds /= 36;
    }
    name.reverse();
    String::from_utf8(name).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_what_is_only_on_one_side_and_what_changed() {
        let live = BTreeMap::from([("a".to_string(), "1".to_string()), ("b".to_string(), "2".to_string())]);
        let candidate = BTreeMap::from([("b".to_string(), "3".to_string()), ("c".to_string(), "4".to_string())]);
        let difference = Difference::of_maps(&live, &candidate);
        assert_eq!(difference.only_live, ["a"]);
        assert_eq!(difference.only_candidate, ["c"]);
        assert_eq!(
            difference.changed,
            [("b".to_string(), "2".to_string(), "3".to_string())]
        );
        assert!(Difference::of_maps(&live, &live).is_empty());
    }

    #[test]
    fn run_names_are_short_lowercase_identifiers() {
        let name = run_name();
        assert!(!name.is_empty() && name.len() <= 7, "{name}");
        assert!(
            name.bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit())
        );
    }
}
