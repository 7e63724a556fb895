//! Counters of one pipeline, read by the progress reporter.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Totals since the pipeline started; shared by its partition workers.
#[derive(Debug, Default)]
pub struct PipelineStats {
    /// Messages consumed and finished (processed or dead-lettered).
    pub events: AtomicU64,
    /// Batches finished.
    pub batches: AtomicU64,
    /// Messages sent to the dead-letter topic.
    pub dead_letters: AtomicU64,
    /// Failed plugin calls by kind (`trap`, `timeout`, `memory`,
    /// `plugin-error`, `invalid-output`); each retry counts.
    failures: Mutex<BTreeMap<&'static str, u64>>,
    /// Partitions whose batch waits for a backend, by (topic, partition).
    waits: Mutex<BTreeMap<(String, i32), Wait>>,
    /// Partitions whose fetching is paused while their batch waits for a
    /// backend.
    pub paused: AtomicU64,
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
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub events: u64,
    pub batches: u64,
    pub dead_letters: u64,
    pub failures: BTreeMap<&'static str, u64>,
    /// Partitions waiting for a backend right now.
    pub waiting: Vec<BackendWait>,
    /// Partitions paused right now.
    pub paused: u64,
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
    /// Reads every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            events: self.events.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            dead_letters: self.dead_letters.load(Ordering::Relaxed),
            paused: self.paused.load(Ordering::Relaxed),
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

    /// Adds one finished batch of `events` messages, `dead_letters` of which
    /// went to the dead-letter topic.
    pub fn record_batch(&self, events: usize, dead_letters: usize) {
        self.events.fetch_add(events as u64, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.dead_letters.fetch_add(dead_letters as u64, Ordering::Relaxed);
    }

    /// Counts one failed plugin call of `kind`.
    pub fn record_failure(&self, kind: &'static str) {
        if let Ok(mut failures) = self.failures.lock() {
            *failures.entry(kind).or_default() += 1;
        }
    }
}
