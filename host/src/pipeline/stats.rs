//! Counters of one pipeline, read by the progress reporter.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

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
}

/// A copy of the counters at one moment.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub events: u64,
    pub batches: u64,
    pub dead_letters: u64,
    pub failures: BTreeMap<&'static str, u64>,
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
}

impl PipelineStats {
    /// Reads every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            events: self.events.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            dead_letters: self.dead_letters.load(Ordering::Relaxed),
            failures: self
                .failures
                .lock()
                .map(|failures| failures.clone())
                .unwrap_or_default(),
        }
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
