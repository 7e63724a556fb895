//! Counters and state of one pipeline, read by the progress line, the
//! admin interface and `/metrics`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;

use crate::metrics::labels::{DeadLetterLabels, FailureLabels, PartitionLabels, PipelineLabels, StateLabels};
use crate::metrics::{Families, RateGauge};

/// Totals since the pipeline started, and its partitions' state; shared by
/// its partition workers. The totals are the pipeline's series of the
/// host's metric families.
#[derive(Debug)]
pub struct PipelineStats {
    pipeline: String,
    families: Families,
    /// Messages consumed and finished (processed or dead-lettered).
    events: Counter,
    /// Batches finished.
    batches: Counter,
    /// Fixes finished without reaching the plugins, superseded by a newer
    /// fix of their driver in the same batch (`coalesce`).
    coalesced: Counter,
    events_per_second: RateGauge,
    batches_per_second: RateGauge,
    /// Messages sent to the dead-letter topic.
    dead_letters: AtomicU64,
    /// Failed plugin calls by kind (`trap`, `timeout`, `memory`,
    /// `plugin-error`, `invalid-output`); each retry counts.
    failures: Mutex<BTreeMap<&'static str, u64>>,
    /// Partitions whose batch waits for a backend, by (topic, partition).
    waits: Mutex<BTreeMap<(String, i32), Wait>>,
    /// Partitions whose fetching is paused while their batch waits for a
    /// backend.
    pub paused: AtomicU64,
    /// Partitions whose fetching an operator paused.
    pub paused_by_operator: AtomicU64,
    /// The assigned partitions' positions, as last sampled.
    partitions: Mutex<BTreeMap<(String, i32), PartitionProgress>>,
}

/// Where one assigned partition stands, as last sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionProgress {
    /// The group's committed offset; `None` before the first commit.
    pub committed: Option<i64>,
    /// The next offset the broker will write.
    pub high_watermark: i64,
    /// Messages not yet committed.
    pub lag: i64,
}

/// One partition's wait for a backend.
#[derive(Debug)]
struct Wait {
    since: Instant,
    reason: String,
}

/// A partition waiting for a backend, as reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendWait {
    pub topic: String,
    pub partition: i32,
    /// Whole seconds since the wait began.
    pub waited_s: u64,
    /// What the host last found unavailable.
    pub reason: String,
}

/// A copy of the counters at one moment.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct StatsSnapshot {
    pub events: u64,
    pub batches: u64,
    /// Fixes left out as superseded (`coalesce`).
    pub coalesced: u64,
    pub dead_letters: u64,
    pub failures: BTreeMap<&'static str, u64>,
    /// Partitions waiting for a backend right now.
    pub waiting: Vec<BackendWait>,
    /// Partitions paused while waiting for a backend right now.
    pub paused: u64,
    /// Partitions an operator paused, right now.
    pub paused_by_operator: u64,
    /// Events and batches finished per second over the last sampling
    /// interval.
    pub events_per_second: f64,
    pub batches_per_second: f64,
    /// The assigned partitions, as last sampled.
    pub partitions: BTreeMap<(String, i32), PartitionProgress>,
}

impl StatsSnapshot {
    /// The failures as `kind=count` pairs, or `none`.
    pub fn failures_text(&self) -> String {
        if self.failures.is_empty() {
            return "none".to_string();
        }
        self.failures
            .iter()
            .map(|(kind, count)| format!("{kind}={count}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The backend waits as `topic/partition` list with the first reason, or
    /// `none`.
    pub fn waiting_text(&self) -> String {
        match self.waiting.first() {
            None => "none".to_string(),
            Some(first) => format!(
                "{} ({} for {} s)",
                self.waiting
                    .iter()
                    .map(|wait| format!("{}/{}", wait.topic, wait.partition))
                    .collect::<Vec<_>>()
                    .join(","),
                first.reason,
                first.waited_s
            ),
        }
    }
}

impl PipelineStats {
    /// The stats of `pipeline`, counting into `families`.
    pub fn new(pipeline: &str, families: &Families) -> Self {
        let labels = PipelineLabels {
            pipeline: pipeline.to_string(),
        };
        Self {
            pipeline: pipeline.to_string(),
            families: families.clone(),
            events: families.events.get_or_create_owned(&labels),
            batches: families.batches.get_or_create_owned(&labels),
            coalesced: families.coalesced.get_or_create_owned(&labels),
            events_per_second: families.events_per_second.get_or_create_owned(&labels),
            batches_per_second: families.batches_per_second.get_or_create_owned(&labels),
            dead_letters: AtomicU64::new(0),
            failures: Mutex::default(),
            waits: Mutex::default(),
            paused: AtomicU64::new(0),
            paused_by_operator: AtomicU64::new(0),
            partitions: Mutex::default(),
        }
    }

    /// The pipeline's name.
    pub fn pipeline(&self) -> &str {
        &self.pipeline
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            events: self.events.get(),
            batches: self.batches.get(),
            coalesced: self.coalesced.get(),
            dead_letters: self.dead_letters.load(Ordering::Relaxed),
            paused: self.paused.load(Ordering::Relaxed),
            paused_by_operator: self.paused_by_operator.load(Ordering::Relaxed),
            events_per_second: self.events_per_second.get(),
            batches_per_second: self.batches_per_second.get(),
            partitions: self
                .partitions
                .lock()
                .map(|partitions| partitions.clone())
                .unwrap_or_default(),
            failures: self
                .failures
                .lock()
                .map(|failures| failures.clone())
                .unwrap_or_default(),
            waiting: self
                .waits
                .lock()
                .map(|waits| {
                    waits
                        .iter()
                        .map(|((topic, partition), wait)| BackendWait {
                            topic: topic.clone(),
                            partition: *partition,
                            waited_s: wait.since.elapsed().as_secs(),
                            reason: wait.reason.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Marks `topic`/`partition` as waiting for a backend because of
    /// `reason`; returns how long it has been waiting.
    pub fn waiting_for_backend(&self, topic: &str, partition: i32, reason: &str) -> Duration {
        let Ok(mut waits) = self.waits.lock() else {
            return Duration::ZERO;
        };
        let wait = waits.entry((topic.to_string(), partition)).or_insert_with(|| Wait {
            since: Instant::now(),
            reason: String::new(),
        });
        wait.reason = reason.to_string();
        wait.since.elapsed()
    }

    /// Ends the wait of `topic`/`partition`, if it had one; returns how long
    /// it lasted.
    pub fn backend_back(&self, topic: &str, partition: i32) -> Option<Duration> {
        let mut waits = self.waits.lock().ok()?;
        if waits.is_empty() {
            return None;
        }
        waits
            .remove(&(topic.to_string(), partition))
            .map(|wait| wait.since.elapsed())
    }

    /// Adds one finished batch of `events` messages; `dead_letter_kinds`
    /// has the kind of each that went to the dead-letter topic.
    pub fn record_batch(&self, events: usize, dead_letter_kinds: &[&str]) {
        self.events.inc_by(events as u64);
        self.batches.inc();
        self.dead_letters
            .fetch_add(dead_letter_kinds.len() as u64, Ordering::Relaxed);
        let mut by_kind: BTreeMap<&str, u64> = BTreeMap::new();
        for kind in dead_letter_kinds {
            *by_kind.entry(kind).or_default() += 1;
        }
        for (kind, count) in by_kind {
            self.families
                .dead_letters
                .get_or_create(&DeadLetterLabels {
                    pipeline: self.pipeline.clone(),
                    kind: kind.to_string(),
                })
                .inc_by(count);
        }
    }

    /// Counts `fixes` left out of a batch as superseded; they are finished
    /// with it (and counted by `record_batch`).
    pub fn record_coalesced(&self, fixes: usize) {
        self.coalesced.inc_by(fixes as u64);
    }

    /// `plugin`'s state of a partition was loaded in `seconds`; the gauge
    /// its bytes count into.
    pub fn state_loaded(&self, plugin: &str, seconds: f64) -> prometheus_client::metrics::gauge::Gauge {
        let labels = self.state_labels(plugin);
        self.families
            .state_load_duration
            .get_or_create(&labels)
            .observe(seconds);
        self.families.state_bytes.get_or_create_owned(&labels)
    }

    /// A batch's changes of `plugin`'s state were written.
    pub fn state_written(&self, plugin: &str) {
        self.families
            .state_writes
            .get_or_create(&self.state_labels(plugin))
            .inc();
    }

    /// `records` delivered again were not given to `plugin`: its state holds
    /// their changes.
    pub fn state_skipped(&self, plugin: &str, records: usize) {
        self.families
            .state_skipped
            .get_or_create(&self.state_labels(plugin))
            .inc_by(records as u64);
    }

    /// A write of `plugin`'s state was refused: another consumer claimed it.
    pub fn state_superseded(&self, plugin: &str) {
        self.families
            .state_superseded
            .get_or_create(&self.state_labels(plugin))
            .inc();
    }

    fn state_labels(&self, plugin: &str) -> StateLabels {
        StateLabels {
            pipeline: self.pipeline.clone(),
            plugin: plugin.to_string(),
        }
    }

    /// Counts one failed call of `plugin` at `version` of `kind`.
    pub fn record_failure(&self, plugin: &str, version: &str, kind: &'static str) {
        if let Ok(mut failures) = self.failures.lock() {
            *failures.entry(kind).or_default() += 1;
        }
        self.families
            .plugin_failures
            .get_or_create(&FailureLabels {
                pipeline: self.pipeline.clone(),
                plugin: plugin.to_string(),
                version: version.to_string(),
                kind: kind.to_string(),
            })
            .inc();
    }

    /// Sets the rates of the last sampling interval.
    pub fn record_rates(&self, events_per_second: f64, batches_per_second: f64) {
        self.events_per_second.set(events_per_second);
        self.batches_per_second.set(batches_per_second);
    }

    /// Records where `topic`/`partition` stands (and its metrics).
    pub fn record_partition(&self, topic: &str, partition: i32, progress: PartitionProgress) {
        let labels = self.partition_labels(topic, partition);
        self.families.partition_lag.get_or_create(&labels).set(progress.lag);
        self.families
            .partition_high_watermark
            .get_or_create(&labels)
            .set(progress.high_watermark);
        if let Some(committed) = progress.committed {
            self.families.partition_committed.get_or_create(&labels).set(committed);
        }
        if let Ok(mut partitions) = self.partitions.lock() {
            partitions.insert((topic.to_string(), partition), progress);
        }
    }

    /// Forgets `topic`/`partition` (revoked): its series leave `/metrics`.
    pub fn forget_partition(&self, topic: &str, partition: i32) {
        let labels = self.partition_labels(topic, partition);
        self.families.partition_lag.remove(&labels);
        self.families.partition_high_watermark.remove(&labels);
        self.families.partition_committed.remove(&labels);
        if let Ok(mut partitions) = self.partitions.lock() {
            partitions.remove(&(topic.to_string(), partition));
        }
    }

    fn partition_labels(&self, topic: &str, partition: i32) -> PartitionLabels {
        PartitionLabels {
            pipeline: self.pipeline.clone(),
            topic: topic.to_string(),
            partition,
        }
    }
}
