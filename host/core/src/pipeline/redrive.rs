//! Dead letters put back through their pipeline after a fix (`fleethost dlq
//! redrive`): each is decoded again and run through the plugins from the
//! one that failed it onward (the whole chain for a letter that failed to
//! decode), under the pipeline's failure policy, in the order of its source
//! partition; each gets its outcome.
//!
//! Every outcome is recorded in `{dead-letter topic}.redriven` (keyed by
//! the letter's partition and offset, compacted), so a letter processed by
//! one redrive is skipped by the next: redriving twice adds nothing. A
//! letter that fails again stays where it is, with its new reason recorded,
//! and is tried again by the next redrive.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::chain::{ChainError, PluginChain};
use super::dead_letter::{
    HEADER_ERROR, HEADER_ERROR_KIND, HEADER_PIPELINE, HEADER_PLUGIN, HEADER_SOURCE_OFFSET, HEADER_SOURCE_PARTITION,
    HEADER_SOURCE_TOPIC,
};
use super::stats::PipelineStats;
use super::topic_formats::TopicFormats;
use super::worker::decode_into;
use crate::config::{Config, PipelineConfig, TopicSettings};
use crate::kafka::admin::TopicSpec;
use crate::kafka::producer::{OutgoingRecord, Producer};
use crate::kafka::topic_reader::{Bound, StoredRecord};
use crate::runtime::{Batch, PluginSlot};

/// Suffix of the topic that records what each redrive did.
pub const REDRIVEN_SUFFIX: &str = ".redriven";
/// Header of a redrive record: its outcome (`processed`, `rejected`, ...).
pub const HEADER_OUTCOME: &str = "fleethost.redrive.outcome";
/// Header of a redrive record: why, when it was not processed.
pub const HEADER_REASON: &str = "fleethost.redrive.reason";

/// Which dead letters a `dlq` command takes.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only those of this kind (`fleethost.error.kind`).
    pub kind: Option<String>,
    /// Only those at or after this offset or time.
    pub from: Option<Bound>,
    /// Only those at or before this offset or time.
    pub to: Option<Bound>,
}

impl Selection {
    /// Whether `letter` is selected.
    pub fn selects(&self, letter: &StoredRecord) -> bool {
        self.kind
            .as_deref()
            .is_none_or(|kind| letter.header(HEADER_ERROR_KIND) == Some(kind))
            && self.from.is_none_or(|from| from.value_of(letter) >= from.limit())
            && self.to.is_none_or(|to| to.value_of(letter) <= to.limit())
    }
}

/// What a redrive did with one dead letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every plugin from the one that failed it onward took it.
    Processed,
    /// A plugin rejected it again, or failed it beyond its retries.
    Failed { kind: String, reason: String },
    /// A redrive processed it before; nothing was done.
    AlreadyRedriven,
    /// Its pipeline (or plugin) is not in the config.
    NotInConfig { reason: String },
}

impl Outcome {
    /// The outcome's name, as recorded.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Processed => "processed",
            Self::Failed { .. } => "failed",
            Self::AlreadyRedriven => "already-redriven",
            Self::NotInConfig { .. } => "not-in-config",
        }
    }

    /// Why, when it was not processed.
    pub fn reason(&self) -> Option<String> {
        match self {
            Self::Failed { kind, reason } => Some(format!("{kind}: {reason}")),
            Self::NotInConfig { reason } => Some(reason.clone()),
            Self::Processed | Self::AlreadyRedriven => None,
        }
    }
}

/// One dead letter and what the redrive did with it.
#[derive(Debug, Clone)]
pub struct Redriven {
    /// The dead letter's partition and offset in the dead-letter topic.
    pub partition: i32,
    pub offset: i64,
    /// Where it came from: `topic/partition@offset`.
    pub source: String,
    /// What the redrive did with it.
    pub outcome: Outcome,
}

/// Why a redrive could not run.
#[derive(Debug, thiserror::Error)]
pub enum RedriveError {
    /// Kafka refused to record the outcomes.
    #[error("cannot record the outcomes in {topic}: {source}")]
    Record {
        topic: String,
        #[source]
        source: rdkafka::error::KafkaError,
    },
    /// Shutdown interrupted it; what was recorded stays.
    #[error("interrupted")]
    Interrupted,
    /// The source topic's payload format does not compile.
    #[error("{0}")]
    Config(String),
}

/// The topic that records the redrives of `dead_letter_topic`.
pub fn redriven_topic(dead_letter_topic: &str) -> String {
    format!("{dead_letter_topic}{REDRIVEN_SUFFIX}")
}

/// The dead letters (partition, offset) a recorded redrive processed, from
/// the records of the `.redriven` topic.
pub fn processed_before(records: &[StoredRecord]) -> std::collections::BTreeSet<(i32, i64)> {
    let mut last: BTreeMap<(i32, i64), bool> = BTreeMap::new();
    for record in records {
        let Some((partition, offset)) = record
            .key
            .as_deref()
            .and_then(|key| std::str::from_utf8(key).ok())
            .and_then(|key| key.split_once(':'))
            .and_then(|(partition, offset)| Some((partition.parse().ok()?, offset.parse().ok()?)))
        else {
            continue;
        };
        last.insert(
            (partition, offset),
            record.header(HEADER_OUTCOME) == Some(Outcome::Processed.name()),
        );
    }
    last.into_iter()
        .filter(|(_, processed)| *processed)
        .map(|(letter, _)| letter)
        .collect()
}

/// What a redrive runs with: the config's pipelines and loaded plugins,
/// and the producer that records the outcomes.
pub struct Redrive<'a> {
    /// The config's pipelines (and topic settings).
    pub config: &'a Config,
    /// Every plugin of the config, loaded.
    pub slots: &'a BTreeMap<String, Arc<PluginSlot>>,
    /// Records the outcomes.
    pub producer: &'a Producer,
}

impl Redrive<'_> {
    /// Redrives `letters` of `dead_letter_topic` (skipping those in
    /// `processed`), records each outcome and returns them in the letters'
    /// order.
    pub async fn run(
        &self,
        dead_letter_topic: &str,
        letters: &[StoredRecord],
        processed: &std::collections::BTreeSet<(i32, i64)>,
        stop: &CancellationToken,
    ) -> Result<Vec<Redriven>, RedriveError> {
        self.ensure_record_topic(dead_letter_topic).await?;
        let mut outcomes: HashMap<(i32, i64), Outcome> = HashMap::new();
        // Letters to run, grouped by pipeline, first plugin and source
        // partition, each group in the letters' order.
        let mut groups: BTreeMap<(String, usize, String, i32), Vec<&StoredRecord>> = BTreeMap::new();
        for letter in letters {
            let key = (letter.partition, letter.offset);
            if processed.contains(&key) {
                outcomes.insert(key, Outcome::AlreadyRedriven);
                continue;
            }
            match self.route(letter) {
                Ok((pipeline, first_plugin)) => {
                    let source_topic = letter.header(HEADER_SOURCE_TOPIC).unwrap_or_default().to_string();
                    let source_partition = header_number(letter, HEADER_SOURCE_PARTITION) as i32;
                    groups
                        .entry((pipeline.name.clone(), first_plugin, source_topic, source_partition))
                        .or_default()
                        .push(letter);
                }
                Err(reason) => {
                    outcomes.insert(key, Outcome::NotInConfig { reason });
                }
            }
        }
        // What could not be routed is recorded at once, each batch's
        // outcomes as soon as it is done: an interrupted redrive keeps
        // what it did.
        let unrouted: Vec<Redriven> = letters
            .iter()
            .filter_map(|letter| {
                let outcome = outcomes.get(&(letter.partition, letter.offset))?;
                matches!(outcome, Outcome::NotInConfig { .. }).then(|| redriven(letter, outcome.clone()))
            })
            .collect();
        self.record(dead_letter_topic, &unrouted).await?;
        for ((pipeline_name, first_plugin, topic, partition), group) in groups {
            let pipeline = self
                .config
                .pipelines
                .iter()
                .find(|pipeline| pipeline.name == pipeline_name)
                .expect("routed to a configured pipeline");
            // The source topic's format, compiled once for all its batches.
            let format = self
                .config
                .payload_format(&topic)
                .map_err(|error| RedriveError::Config(error.to_string()))?;
            let formats = TopicFormats::single(&topic, Arc::new(format));
            for chunk in group.chunks(pipeline.batch.max_events) {
                let results: HashMap<(i32, i64), Outcome> = self
                    .run_batch(pipeline, first_plugin, &formats, (&topic, partition), chunk, stop)
                    .await?
                    .into_iter()
                    .collect();
                let done: Vec<Redriven> = chunk
                    .iter()
                    .filter_map(|letter| {
                        let outcome = results.get(&(letter.partition, letter.offset))?;
                        Some(redriven(letter, outcome.clone()))
                    })
                    .collect();
                self.record(dead_letter_topic, &done).await?;
                outcomes.extend(results);
            }
        }
        Ok(letters
            .iter()
            .map(|letter| {
                let outcome = outcomes
                    .remove(&(letter.partition, letter.offset))
                    .unwrap_or(Outcome::Failed {
                        kind: "interrupted".into(),
                        reason: "not run".into(),
                    });
                redriven(letter, outcome)
            })
            .collect())
    }

    /// The pipeline a letter goes back to and the index of the plugin it
    /// starts at, or why it cannot.
    fn route(&self, letter: &StoredRecord) -> Result<(&PipelineConfig, usize), String> {
        let name = letter
            .header(HEADER_PIPELINE)
            .ok_or_else(|| format!("no {HEADER_PIPELINE} header"))?;
        let pipeline = self
            .config
            .pipelines
            .iter()
            .find(|pipeline| pipeline.name == name)
            .ok_or_else(|| format!("no pipeline named {name:?} in the config"))?;
        let first = match letter.header(HEADER_PLUGIN) {
            None => 0,
            Some(label) => {
                let plugin = label.split_once('@').map_or(label, |(plugin, _)| plugin);
                pipeline
                    .plugins
                    .iter()
                    .position(|configured| configured == plugin)
                    .ok_or_else(|| format!("pipeline {name:?} has no plugin {plugin:?} any more"))?
            }
        };
        Ok((pipeline, first))
    }

    /// Decodes `letters` (of one source partition, in its topic's format)
    /// and runs them through the pipeline's plugins from `first_plugin` on.
    async fn run_batch(
        &self,
        pipeline: &PipelineConfig,
        first_plugin: usize,
        formats: &TopicFormats,
        (topic, partition): (&str, i32),
        letters: &[&StoredRecord],
        stop: &CancellationToken,
    ) -> Result<Vec<((i32, i64), Outcome)>, RedriveError> {
        let mut batch = Batch {
            pipeline: pipeline.name.clone(),
            topic: topic.to_string(),
            partition,
            events: Vec::new(),
            orders: Vec::new(),
        };
        let carries_orders = pipeline.carries_orders(topic);
        formats
            .learn_unknown(topic, letters.iter().map(|letter| letter.payload.as_deref()))
            .await;
        let mut outcomes = Vec::new();
        let mut in_batch = Vec::new();
        for letter in letters {
            let decoded = decode_into(
                &mut batch,
                formats.of(topic),
                carries_orders,
                letter.payload.as_deref(),
                letter.timestamp_ms,
                header_number(letter, HEADER_SOURCE_OFFSET),
                &pipeline.events,
            );
            match decoded {
                Ok(()) => in_batch.push((letter.partition, letter.offset)),
                Err(error) => outcomes.push((
                    (letter.partition, letter.offset),
                    Outcome::Failed {
                        kind: error.kind().to_string(),
                        reason: error.to_string(),
                    },
                )),
            }
        }
        if in_batch.is_empty() {
            return Ok(outcomes);
        }
        let plugins: Vec<Arc<PluginSlot>> = pipeline.plugins[first_plugin..]
            .iter()
            .map(|name| self.slots[name].clone())
            .collect();
        let stats = Arc::new(PipelineStats::new(&pipeline.name, &crate::metrics::Families::default()));
        let mut chain = PluginChain::new(&pipeline.name, &plugins, pipeline.failure.clone(), stats, None, None);
        let mut failed: HashMap<usize, Outcome> = match chain.run(batch, stop).await {
            Ok(failures) => failures
                .into_iter()
                .map(|(index, failure)| {
                    let reason = match &failure.plugin {
                        Some(plugin) => format!("{plugin}: {}", failure.reason),
                        None => failure.reason,
                    };
                    (
                        index,
                        Outcome::Failed {
                            kind: failure.kind.to_string(),
                            reason,
                        },
                    )
                })
                .collect(),
            Err(ChainError::Cancelled) => return Err(RedriveError::Interrupted),
            Err(error @ ChainError::Stopped { .. }) => (0..in_batch.len())
                .map(|index| {
                    (
                        index,
                        Outcome::Failed {
                            kind: "stopped".into(),
                            reason: error.to_string(),
                        },
                    )
                })
                .collect(),
        };
        for (index, letter) in in_batch.into_iter().enumerate() {
            outcomes.push((letter, failed.remove(&index).unwrap_or(Outcome::Processed)));
        }
        Ok(outcomes)
    }

    /// Creates the `.redriven` topic of `dead_letter_topic` when missing:
    /// compacted, one partition, unless `[topics."NAME"]` says otherwise.
    async fn ensure_record_topic(&self, dead_letter_topic: &str) -> Result<(), RedriveError> {
        let topic = redriven_topic(dead_letter_topic);
        let compacted = TopicSettings {
            cleanup_policy: Some(crate::config::CleanupPolicy::Compact),
            ..TopicSettings::default()
        };
        let settings = self.config.topics.get(&topic).unwrap_or(&compacted);
        let spec = TopicSpec::configured(&topic, Some(settings), Some(1));
        crate::kafka::admin::create_missing(&self.config.kafka, &[spec])
            .await
            .map_err(|source| RedriveError::Record { topic, source })?;
        Ok(())
    }

    /// Writes each outcome to the `.redriven` topic, keyed by the letter's
    /// partition and offset.
    async fn record(&self, dead_letter_topic: &str, report: &[Redriven]) -> Result<(), RedriveError> {
        if report.is_empty() {
            return Ok(());
        }
        let topic = redriven_topic(dead_letter_topic);
        let record_error = |source| RedriveError::Record {
            topic: topic.clone(),
            source,
        };
        let records: Vec<OutgoingRecord> = report
            .iter()
            .filter(|redriven| redriven.outcome != Outcome::AlreadyRedriven)
            .map(|redriven| {
                let mut headers = vec![(HEADER_OUTCOME.to_string(), redriven.outcome.name().as_bytes().to_vec())];
                if let Some(reason) = redriven.outcome.reason() {
                    headers.push((HEADER_REASON.to_string(), reason.into_bytes()));
                }
                OutgoingRecord {
                    topic: topic.clone(),
                    key: Some(format!("{}:{}", redriven.partition, redriven.offset).into_bytes()),
                    payload: Some(redriven.source.clone().into_bytes()),
                    headers,
                }
            })
            .collect();
        self.producer.send_all(&records).await.map_err(record_error)?;
        Ok(())
    }
}

/// `letter` with its outcome, for the report and the record.
fn redriven(letter: &StoredRecord, outcome: Outcome) -> Redriven {
    Redriven {
        partition: letter.partition,
        offset: letter.offset,
        source: format!(
            "{}/{}@{}",
            letter.header(HEADER_SOURCE_TOPIC).unwrap_or("?"),
            letter.header(HEADER_SOURCE_PARTITION).unwrap_or("?"),
            letter.header(HEADER_SOURCE_OFFSET).unwrap_or("?")
        ),
        outcome,
    }
}

/// A numeric header of a dead letter; -1 when it is missing.
fn header_number(letter: &StoredRecord, name: &str) -> i64 {
    letter.header(name).and_then(|value| value.parse().ok()).unwrap_or(-1)
}

/// The reason a dead letter was written with, for listings.
pub fn dead_letter_reason(letter: &StoredRecord) -> &str {
    letter.header(HEADER_ERROR).unwrap_or("")
}

/// A record's timestamp in RFC 3339 (UTC, milliseconds), or `-`.
pub fn timestamp_text(timestamp_ms: Option<i64>) -> String {
    timestamp_ms
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(
            || "-".to_string(),
            |time| time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(partition: i32, offset: i64, kind: &str, timestamp_ms: i64) -> StoredRecord {
        StoredRecord {
            topic: "t.dlq".into(),
            partition,
            offset,
            timestamp_ms: Some(timestamp_ms),
            key: None,
            payload: None,
            headers: BTreeMap::from([(HEADER_ERROR_KIND.to_string(), kind.to_string())]),
        }
    }

    #[test]
    fn a_selection_takes_kind_offsets_and_times() {
        let at_noon = Bound::parse("2026-12-07T12:00:00Z").expect("time");
        assert_eq!(at_noon, Bound::TimeMs(1_796_644_800_000));
        assert_eq!(Bound::parse("42"), Ok(Bound::Offset(42)));
        assert!(Bound::parse("yesterday").unwrap_err().contains("RFC 3339"));
        let selection = Selection {
            kind: Some("rejected".into()),
            from: Some(Bound::Offset(10)),
            to: Some(at_noon),
        };
        assert!(selection.selects(&letter(0, 10, "rejected", 1_796_644_800_000)));
        assert!(!selection.selects(&letter(0, 9, "rejected", 0)), "before --from");
        assert!(!selection.selects(&letter(0, 11, "trap", 0)), "another kind");
        assert!(
            !selection.selects(&letter(0, 11, "rejected", 1_796_644_800_001)),
            "after --to"
        );
    }

    #[test]
    fn the_last_recorded_outcome_of_a_letter_counts() {
        let record = |key: &str, outcome: &str| StoredRecord {
            topic: "t.dlq.redriven".into(),
            partition: 0,
            offset: 0,
            timestamp_ms: None,
            key: Some(key.as_bytes().to_vec()),
            payload: None,
            headers: BTreeMap::from([(HEADER_OUTCOME.to_string(), outcome.to_string())]),
        };
        let records = [
            record("0:5", "failed"),
            record("0:5", "processed"),
            record("1:7", "processed"),
            record("1:7", "failed"),
            record("not a key", "processed"),
        ];
        assert_eq!(processed_before(&records), [(0, 5)].into_iter().collect());
    }
}
