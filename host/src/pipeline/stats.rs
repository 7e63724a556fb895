//! Counters of one pipeline, read by the progress reporter.

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
    /// Plugin calls that failed (each retry counts).
    pub plugin_failures: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub events: u64,
    pub batches: u64,
    pub dead_letters: u64,
    pub plugin_failures: u64,
}

impl PipelineStats {
    /// Reads every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            events: self.events.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            dead_letters: self.dead_letters.load(Ordering::Relaxed),
            plugin_failures: self.plugin_failures.load(Ordering::Relaxed),
        }
    }

    /// Adds one finished batch of `events` messages, `dead_letters` of which
    /// went to the dead-letter topic.
    pub fn record_batch(&self, events: usize, dead_letters: usize) {
        self.events.fetch_add(events as u64, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.dead_letters
            .fetch_add(dead_letters as u64, Ordering::Relaxed);
    }
}
