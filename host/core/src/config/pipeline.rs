//! A pipeline's config: its topics and group, batching, event bounds and
//! failure policy.

use std::collections::BTreeMap;

use fleethost_event::EventsConfig;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One pipeline: a consumer group, its topics, and the plugins each batch goes
/// through.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Name used in logs, metrics and dead-letter headers; unique in the file.
    pub name: String,
    /// Kafka consumer group id. Processes with the same group id split the
    /// partitions between them.
    pub group_id: String,
    /// Topics of location fixes to consume.
    pub topics: Vec<String>,
    /// Topics of order lifecycle events (`order-events`) to consume as well;
    /// their batches reach plugins as `batch.orders`. A topic carries either
    /// locations or orders, never both.
    #[serde(default)]
    pub order_topics: Vec<String>,
    /// Names of the plugins (keys of `[plugins]`) each batch goes through, in order.
    pub plugins: Vec<String>,
    /// When a batch is full.
    #[serde(default)]
    pub batch: BatchConfig,
    /// What happens when a plugin fails a batch.
    #[serde(default)]
    pub failure: FailurePolicy,
    /// Bounds on the event time, speed and heading of the fixes and order
    /// events this pipeline consumes; an event outside them is dead-lettered
    /// like any message that is not a location.
    #[serde(default)]
    pub events: EventsConfig,
    /// Milliseconds between two commits of the offsets of finished batches.
    /// Offsets are also committed when partitions are revoked and at shutdown.
    #[serde(default = "default_commit_interval_ms")]
    pub commit_interval_ms: u64,
    /// librdkafka properties of this pipeline's consumer only, applied over
    /// `kafka.consumer_properties`: a live-position pipeline can fetch with a
    /// short `fetch.wait.max.ms` while a history pipeline fetches in bulk.
    /// The host-owned keys are refused here too.
    #[serde(default)]
    pub consumer_properties: BTreeMap<String, String>,
    /// CPU priority of this pipeline's work (batching, decoding, plugin calls
    /// and their capability calls) as a Linux nice value, 0 (as the rest of
    /// the host) to 19: a pipeline that may lag (history, fares) yields the
    /// cores to the others when they are short and catches up later, so that
    /// live positions stay fresh on a full machine. Its threads are named
    /// `pipeline-niceN`. It cannot lend priority to Redis, PostgreSQL or the
    /// broker, which serve every pipeline alike.
    #[serde(default)]
    pub nice: u8,
    /// Which fixes of a batch reach the plugins. With `"latest-per-key"`
    /// the others are finished and committed with the batch, counted in
    /// `fleethost_events_coalesced_total`: a partition that keeps up has
    /// batches of about one fix per driver and loses nothing; one that lags
    /// catches up at the cost of the superseded fixes, for pipelines that
    /// only need where each driver is now (live positions). Order events
    /// are never coalesced; a pipeline with a plugin granted `sql_write` (a
    /// history) is refused.
    #[serde(default)]
    pub coalesce: Coalesce,
}

/// Which fixes of a batch reach the plugins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Coalesce {
    /// Every fix.
    #[default]
    None,
    /// Of the fixes of one driver in a batch, only the newest (by event
    /// time, then offset).
    LatestPerKey,
}

impl PipelineConfig {
    /// A pipeline of `plugins` over `topics` in the consumer group
    /// `group_id`, with every optional key at its default.
    pub fn new(name: impl Into<String>, group_id: impl Into<String>, topics: &[&str], plugins: &[&str]) -> Self {
        Self {
            name: name.into(),
            group_id: group_id.into(),
            topics: topics.iter().map(|topic| topic.to_string()).collect(),
            order_topics: Vec::new(),
            plugins: plugins.iter().map(|plugin| plugin.to_string()).collect(),
            batch: BatchConfig::default(),
            failure: FailurePolicy::default(),
            events: EventsConfig::default(),
            commit_interval_ms: default_commit_interval_ms(),
            consumer_properties: BTreeMap::new(),
            nice: 0,
            coalesce: Coalesce::None,
        }
    }

    /// Whether `topic`'s records are order events (`order_topics`) rather
    /// than location fixes.
    pub fn carries_orders(&self, topic: &str) -> bool {
        self.order_topics.iter().any(|order_topic| order_topic == topic)
    }
}

fn default_commit_interval_ms() -> u64 {
    1000
}

/// Batch limits: a partition's batch is handed to the plugins when it holds
/// `max_events` events or when `max_wait_ms` has passed since its first event.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchConfig {
    /// A batch is handed to the plugins when it holds this many events
    /// (1 to 100000)…
    #[serde(default = "default_max_events")]
    pub max_events: usize,
    /// …or this many milliseconds after its first event.
    #[serde(default = "default_max_wait_ms")]
    pub max_wait_ms: u64,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            max_events: default_max_events(),
            max_wait_ms: default_max_wait_ms(),
        }
    }
}

fn default_max_events() -> usize {
    1000
}

fn default_max_wait_ms() -> u64 {
    1000
}

/// What the pipeline does with a batch a plugin fails (error, trap, timeout).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FailurePolicy {
    /// How many times a batch that trapped, timed out, hit its memory cap or
    /// failed with a plugin error marked retryable is tried again (on a fresh
    /// instance after a trap, timeout or memory cap). A plugin error not
    /// marked retryable and an invalid answer are not tried again.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Milliseconds before the first retry; doubled for each further one.
    #[serde(default = "default_backoff_ms")]
    pub backoff_ms: u64,
    /// Longest pause between two retries, in ms. A batch whose plugin failed
    /// after the host found a backend it called (Redis, the database, Kafka)
    /// unavailable is retried without limit at this pace: the partition
    /// waits for the backend, nothing is dead-lettered, and the wait shows in
    /// the progress line, `/metrics`, `fleethost status` and a log line a
    /// minute.
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: u64,
    /// What happens after the last retry.
    #[serde(default)]
    pub on_exhausted: OnExhausted,
    /// Under `dead-letter`, most plugin calls spent isolating the events that
    /// fail on their own: the failed batch is split in halves, each tried
    /// once (a fresh instance after a trap), and every failing half split
    /// again, so one bad event costs itself and not its neighbours. When the
    /// calls run out, or three rounds of splitting found no part that
    /// passes (the plugin fails everything), the parts still failing are
    /// dead-lettered whole. 0 dead-letters the whole failed batch.
    #[serde(default = "default_isolation_calls")]
    pub isolation_calls: u32,
}

impl Default for FailurePolicy {
    fn default() -> Self {
        Self {
            retries: default_retries(),
            backoff_ms: default_backoff_ms(),
            max_backoff_ms: default_max_backoff_ms(),
            on_exhausted: OnExhausted::default(),
            isolation_calls: default_isolation_calls(),
        }
    }
}

fn default_isolation_calls() -> u32 {
    64
}

fn default_retries() -> u32 {
    3
}

fn default_max_backoff_ms() -> u64 {
    10_000
}

fn default_backoff_ms() -> u64 {
    200
}

/// The last step of a failure policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OnExhausted {
    /// The events that fail on their own go to `{topic}.dlq` and the
    /// partition moves on.
    #[default]
    DeadLetter,
    /// The pipeline stops without committing the batch; its uncommitted
    /// batches are redelivered on restart.
    Stop,
}

/// Highest nice value Linux knows; also the highest `pipelines[].nice`.
pub const MAX_NICE: u8 = 19;
