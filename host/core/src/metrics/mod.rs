//! The host's metrics, kept in one [prometheus-client] registry and served
//! by the admin interface's `GET /metrics` in the Prometheus text format.
//!
//! What the host counts as it works (events, batches, dead letters by kind,
//! plugin failures, batch and host-call durations, per-plugin usage, lag) is
//! held in the families below; what it knows as state (running plugin
//! versions, reloads, memory, partitions waiting or paused) is read when a
//! scrape asks for it (`admin::scraped`). Every figure the progress line and
//! `fleethost status` show comes from the same place, so nothing is counted
//! twice. The list of every metric is in docs/operating.md.
//!
//! [prometheus-client]: https://docs.rs/prometheus-client

pub mod labels;
pub mod usage;

use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use self::labels::{
    BatchLabels, DeadLetterLabels, FailureLabels, HostCallLabels, PartitionLabels, PipelineLabels, PluginLabels,
    QuotaLabels, StateLabels,
};

/// A histogram family, its histograms made with the buckets its
/// constructor gives.
pub type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// A floating-point counter (seconds).
pub type SecondsCounter = Counter<f64, AtomicU64>;

/// A floating-point gauge (rates).
pub type RateGauge = Gauge<f64, AtomicU64>;

/// Buckets of every duration histogram: 0.5 ms doubling up to about 33 s.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 17))
}

/// Every metric family the host updates as it works. Cloning shares them:
/// each clone updates the same series.
#[derive(Clone, Debug)]
pub struct Families {
    /// Messages finished (processed or dead-lettered), per pipeline.
    pub events: Family<PipelineLabels, Counter>,
    /// Batches finished, per pipeline.
    pub batches: Family<PipelineLabels, Counter>,
    /// Fixes finished as superseded without reaching the plugins
    /// (`coalesce`), per pipeline.
    pub coalesced: Family<PipelineLabels, Counter>,
    /// Messages written to a dead-letter topic, per pipeline and kind.
    pub dead_letters: Family<DeadLetterLabels, Counter>,
    /// Failed plugin calls, per pipeline, plugin version and kind.
    pub plugin_failures: Family<FailureLabels, Counter>,
    /// Events finished per second over the last sampling interval.
    pub events_per_second: Family<PipelineLabels, RateGauge>,
    /// Batches finished per second over the last sampling interval.
    pub batches_per_second: Family<PipelineLabels, RateGauge>,
    /// Messages behind: high watermark minus committed offset.
    pub partition_lag: Family<PartitionLabels, Gauge>,
    /// The group's committed offset of an assigned partition.
    pub partition_committed: Family<PartitionLabels, Gauge>,
    /// The high watermark of an assigned partition.
    pub partition_high_watermark: Family<PartitionLabels, Gauge>,
    /// Wall time of one plugin call on one batch.
    pub batch_duration: HistogramFamily<BatchLabels>,
    /// Events in one batch given to a plugin.
    pub batch_events: HistogramFamily<BatchLabels>,
    /// Wall time of one host call (kv, sql, produce).
    pub host_call_duration: HistogramFamily<HostCallLabels>,
    /// Host calls made, refused ones included.
    pub host_calls: Family<HostCallLabels, Counter>,
    /// Host calls refused by the plugin version's grants.
    pub denied: Family<PluginLabels, Counter>,
    /// Host calls refused by the plugin version's quotas.
    pub quota_refusals: Family<QuotaLabels, Counter>,
    /// Seconds spent running plugin code, host calls excluded.
    pub plugin_seconds: Family<PluginLabels, SecondsCounter>,
    /// Bytes given to plugin code: batches and host-call answers.
    pub bytes_in: Family<PluginLabels, Counter>,
    /// Bytes plugin code handed to host calls (writes, rows, records).
    pub bytes_out: Family<PluginLabels, Counter>,
    /// Wall time of loading one partition's state of a plugin.
    pub state_load_duration: HistogramFamily<StateLabels>,
    /// Bytes of keys and values of a plugin's state this process holds.
    pub state_bytes: Family<StateLabels, Gauge>,
    /// Batches whose state changes were written.
    pub state_writes: Family<StateLabels, Counter>,
    /// Records delivered again whose state changes were kept already, not
    /// given to the plugin again.
    pub state_skipped: Family<StateLabels, Counter>,
    /// Writes refused because another consumer claimed the state since.
    pub state_superseded: Family<StateLabels, Counter>,
}

impl Default for Families {
    fn default() -> Self {
        Self {
            events: Family::default(),
            batches: Family::default(),
            coalesced: Family::default(),
            dead_letters: Family::default(),
            plugin_failures: Family::default(),
            events_per_second: Family::default(),
            batches_per_second: Family::default(),
            partition_lag: Family::default(),
            partition_committed: Family::default(),
            partition_high_watermark: Family::default(),
            batch_duration: Family::new_with_constructor(duration_histogram),
            batch_events: Family::new_with_constructor(|| Histogram::new(exponential_buckets(1.0, 4.0, 10))),
            host_call_duration: Family::new_with_constructor(duration_histogram),
            host_calls: Family::default(),
            denied: Family::default(),
            quota_refusals: Family::default(),
            plugin_seconds: Family::default(),
            bytes_in: Family::default(),
            bytes_out: Family::default(),
            state_load_duration: Family::new_with_constructor(duration_histogram),
            state_bytes: Family::default(),
            state_writes: Family::default(),
            state_skipped: Family::default(),
            state_superseded: Family::default(),
        }
    }
}

/// The registry of one host process: the families, plus what a scrape
/// reads from the running state.
#[derive(Debug)]
pub struct HostMetrics {
    registry: Registry,
    families: Families,
}

impl Default for HostMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl HostMetrics {
    /// A registry with every family registered, nothing counted yet.
    pub fn new() -> Self {
        let families = Families::default();
        let mut registry = Registry::default();
        let f = families.clone();
        registry.register(
            "fleethost_events",
            "Messages finished (processed or dead-lettered)",
            f.events,
        );
        registry.register("fleethost_batches", "Batches finished", f.batches);
        registry.register(
            "fleethost_events_coalesced",
            "Fixes finished without reaching the plugins: a newer fix of the same driver was in the batch (coalesce = \"latest-per-key\")",
            f.coalesced,
        );
        registry.register(
            "fleethost_dead_letters",
            "Messages written to a dead-letter topic, by kind (decode errors, rejected, trap, timeout, ...)",
            f.dead_letters,
        );
        registry.register(
            "fleethost_plugin_failures",
            "Failed plugin calls by kind (trap, timeout, memory, plugin-error, backend-unavailable, invalid-output); retries count",
            f.plugin_failures,
        );
        registry.register(
            "fleethost_events_per_second",
            "Events finished per second over the last sampling interval",
            f.events_per_second,
        );
        registry.register(
            "fleethost_batches_per_second",
            "Batches finished per second over the last sampling interval",
            f.batches_per_second,
        );
        registry.register(
            "fleethost_partition_lag",
            "Messages of an assigned partition not yet committed: high watermark minus the group's committed offset",
            f.partition_lag,
        );
        registry.register(
            "fleethost_partition_committed_offset",
            "The consumer group's committed offset of an assigned partition",
            f.partition_committed,
        );
        registry.register(
            "fleethost_partition_high_watermark",
            "The high watermark (next offset to be written) of an assigned partition",
            f.partition_high_watermark,
        );
        registry.register(
            "fleethost_batch_duration_seconds",
            "Wall time of one plugin call on one batch, per plugin version",
            f.batch_duration,
        );
        registry.register(
            "fleethost_batch_events",
            "Events in one batch given to a plugin version",
            f.batch_events,
        );
        registry.register(
            "fleethost_host_call_duration_seconds",
            "Wall time of one host call (kv, sql, produce) made by a plugin version",
            f.host_call_duration,
        );
        registry.register(
            "fleethost_host_calls",
            "Host calls (kv, sql, produce) made by a plugin version, refused ones included",
            f.host_calls,
        );
        registry.register(
            "fleethost_grant_denied",
            "Host calls refused by the grants of the plugin version",
            f.denied,
        );
        registry.register(
            "fleethost_quota_refusals",
            "Host calls refused by the plugin version's quotas (per batch, per second)",
            f.quota_refusals,
        );
        registry.register(
            "fleethost_plugin_seconds",
            "Seconds spent running the plugin version's code, host calls excluded",
            f.plugin_seconds,
        );
        registry.register(
            "fleethost_plugin_bytes_in",
            "Bytes given to the plugin version: its batches and the answers of its host calls",
            f.bytes_in,
        );
        registry.register(
            "fleethost_plugin_bytes_out",
            "Bytes the plugin version handed to host calls: keys and values, rows, records",
            f.bytes_out,
        );
        registry.register(
            "fleethost_state_load_duration_seconds",
            "Wall time of loading a plugin's state of one partition (one per assigned partition)",
            f.state_load_duration,
        );
        registry.register(
            "fleethost_state_bytes",
            "Bytes of keys and values of a plugin's state that this process holds in memory",
            f.state_bytes,
        );
        registry.register(
            "fleethost_state_writes",
            "Batches whose state changes were written to the store",
            f.state_writes,
        );
        registry.register(
            "fleethost_state_skipped_records",
            "Records delivered again whose state changes the store held already, not given to the plugin again",
            f.state_skipped,
        );
        registry.register(
            "fleethost_state_superseded",
            "State writes refused because another consumer claimed the partition's state since this host loaded it",
            f.state_superseded,
        );
        Self { registry, families }
    }

    /// The families, to hand to what counts.
    pub fn families(&self) -> &Families {
        &self.families
    }

    /// Adds a collector: what a scrape reads from the running state.
    pub fn register_collector(&mut self, collector: Box<dyn prometheus_client::collector::Collector>) {
        self.registry.register_collector(collector);
    }

    /// Every metric in the Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry) {
            tracing::error!(%error, "cannot encode the metrics");
        }
        text
    }
}

/// The content type of [`HostMetrics::render`]'s text.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
