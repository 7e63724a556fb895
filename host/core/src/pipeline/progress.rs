//! How far a pipeline is: its rates and each assigned partition's lag,
//! measured every `status.sample_interval_ms`, and the progress line logged
//! every `status.interval_ms`.
//!
//! Lag is the high watermark minus the group's committed offset: what a
//! restart would have to read again or for the first time. Both come from
//! the broker (a watermark request per partition, one committed-offsets
//! request per pipeline), never from what the consumer last fetched, so the
//! lag keeps growing while a partition is paused and fetches nothing.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use rdkafka::{Offset, TopicPartitionList};

use super::stats::{PartitionProgress, PipelineStats};
use crate::kafka::consumer::PipelineConsumer;

/// How long one broker request of a sample may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// An assigned partition and the offset after its last finished batch (-1
/// before the first).
pub type Position = (String, i32, i64);

/// A timer that fires every `interval` after it was last restarted, or
/// never; what the sampler and the progress line run on.
struct Every {
    interval: Option<Duration>,
    last_at: Instant,
}

impl Every {
    fn new(interval: Option<Duration>) -> Self {
        Self {
            interval,
            last_at: Instant::now(),
        }
    }

    /// Resolves when the next run is due.
    async fn tick(&self) {
        match self.interval {
            Some(interval) => tokio::time::sleep_until((self.last_at + interval).into()).await,
            None => std::future::pending().await,
        }
    }

    /// Seconds since the last run (never 0), restarting the timer.
    fn restart(&mut self) -> f64 {
        let elapsed = self.last_at.elapsed().as_secs_f64().max(0.001);
        self.last_at = Instant::now();
        elapsed
    }
}

/// Measures rates and lag on a timer.
pub struct Sampler {
    every: Every,
    last: (u64, u64),
    /// A sample's broker requests run on a blocking thread; the next one
    /// waits for it rather than piling up while the broker is slow.
    in_flight: Arc<AtomicBool>,
}

impl Sampler {
    /// A sampler every `interval`; `None`: never.
    pub fn new(interval: Option<Duration>) -> Self {
        Self {
            every: Every::new(interval),
            last: (0, 0),
            in_flight: Arc::default(),
        }
    }

    /// Resolves when the next sample is due.
    pub async fn tick(&self) {
        self.every.tick().await;
    }

    /// Records the rates since the last sample, forgets partitions no longer
    /// in `positions`, and measures the lag of those that are (on a blocking
    /// thread; the result lands in `stats` when it is back).
    pub fn sample(&mut self, stats: &Arc<PipelineStats>, consumer: &Arc<PipelineConsumer>, positions: Vec<Position>) {
        let now = stats.snapshot();
        let elapsed = self.every.restart();
        stats.record_rates(
            now.events.saturating_sub(self.last.0) as f64 / elapsed,
            now.batches.saturating_sub(self.last.1) as f64 / elapsed,
        );
        self.last = (now.events, now.batches);
        let assigned: BTreeSet<(String, i32)> = positions
            .iter()
            .map(|(topic, partition, _)| (topic.clone(), *partition))
            .collect();
        for (topic, partition) in now.partitions.keys() {
            if !assigned.contains(&(topic.clone(), *partition)) {
                stats.forget_partition(topic, *partition);
            }
        }
        if positions.is_empty() || self.in_flight.swap(true, Ordering::AcqRel) {
            return;
        }
        let (stats, consumer, in_flight) = (stats.clone(), consumer.clone(), self.in_flight.clone());
        tokio::task::spawn_blocking(move || {
            measure_lag(&stats, &consumer, &positions);
            in_flight.store(false, Ordering::Release);
        });
    }
}

/// Asks the broker for the committed offsets and high watermarks of
/// `positions` and records each partition's progress. Blocking.
fn measure_lag(stats: &PipelineStats, consumer: &PipelineConsumer, positions: &[Position]) {
    let mut list = TopicPartitionList::new();
    for (topic, partition, _) in positions {
        list.add_partition(topic, *partition);
    }
    let committed = match consumer.committed_offsets(list, REQUEST_TIMEOUT) {
        Ok(committed) => Some(committed),
        Err(error) => {
            tracing::debug!(pipeline = stats.pipeline(), %error, "cannot read the committed offsets; lag not measured");
            None
        }
    };
    for (topic, partition, position) in positions {
        let (low, high) = match consumer.fetch_watermarks(topic, *partition, REQUEST_TIMEOUT) {
            Ok(watermarks) => watermarks,
            Err(error) => {
                tracing::debug!(pipeline = stats.pipeline(), %topic, partition, %error, "cannot read the watermarks");
                continue;
            }
        };
        let committed = committed
            .as_ref()
            .and_then(|list| list.find_partition(topic, *partition))
            .and_then(|element| match element.offset() {
                Offset::Offset(offset) => Some(offset),
                _ => None,
            });
        stats.record_partition(topic, *partition, progress(committed, *position, low, high));
    }
}

/// A partition's progress: lag from the committed offset, or before the
/// first commit from the worker's position, or (nothing done yet) from the
/// low watermark. The high watermark is never taken below what the worker
/// already read.
pub fn progress(committed: Option<i64>, position: i64, low: i64, high: i64) -> PartitionProgress {
    let done = committed.or((position >= 0).then_some(position)).unwrap_or(low);
    let high = high.max(position);
    PartitionProgress {
        committed,
        high_watermark: high,
        lag: (high - done.max(low)).max(0),
    }
}

/// Logs a progress line per pipeline every `status.interval_ms`: rates,
/// totals, lag as last sampled.
pub struct ProgressLine {
    pipeline: String,
    every: Every,
    last_events: u64,
}

impl ProgressLine {
    /// A line every `interval`; `None`: never.
    pub fn new(pipeline: &str, interval: Option<Duration>) -> Self {
        Self {
            pipeline: pipeline.to_string(),
            every: Every::new(interval),
            last_events: 0,
        }
    }

    /// Resolves when the next line is due.
    pub async fn tick(&self) {
        self.every.tick().await;
    }

    /// Logs the line; `partitions` are those assigned now.
    pub fn report(&mut self, stats: &PipelineStats, denied: u64, partitions: usize) {
        let now = stats.snapshot();
        let rate = now.events.saturating_sub(self.last_events) as f64 / self.every.restart();
        self.last_events = now.events;
        let lag: i64 = now.partitions.values().map(|progress| progress.lag).sum();
        tracing::info!(
            pipeline = %self.pipeline,
            events_per_s = format!("{rate:.0}"),
            events = now.events,
            batches = now.batches,
            dead_letters = now.dead_letters,
            failures = %now.failures_text(),
            waiting_for_backend = %now.waiting_text(),
            paused_by_operator = now.paused_by_operator,
            denied,
            lag,
            partitions,
            "progress"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::progress;

    #[test]
    fn lag_counts_from_the_committed_offset() {
        assert_eq!(progress(Some(40), 55, 0, 100).lag, 60);
        // Before the first commit: from what the worker finished.
        assert_eq!(progress(None, 55, 0, 100).lag, 45);
        // Nothing done yet: everything retained.
        assert_eq!(progress(None, -1, 10, 100).lag, 90);
        // A committed offset below the retained log counts from its start.
        assert_eq!(progress(Some(3), -1, 10, 100).lag, 90);
        assert_eq!(progress(Some(100), 100, 0, 100).lag, 0);
        // A broker answering low never makes the end precede what was read.
        assert_eq!(progress(Some(90), 120, 0, 100).high_watermark, 120);
        assert_eq!(progress(Some(90), 120, 0, 100).lag, 30);
    }
}
