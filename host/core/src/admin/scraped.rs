//! The metrics read from the running state when a scrape asks: which
//! plugin versions run, how often they were reloaded, the memory they and
//! the host hold, the partitions waiting for a backend or paused. They are
//! state, not counts, so they are read where they are kept rather than
//! copied into gauges that could go stale.

use std::fmt;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::pipeline::running::Running;
use crate::runtime::PluginSlot;

/// What a scrape reads: the plugin slots and the pipelines' state, as they
/// are at the scrape (pipelines added while the host runs included).
pub struct Scraped {
    running: Arc<Running>,
}

impl Scraped {
    /// Reads the plugins and pipelines of `running` on every scrape.
    pub fn new(running: Arc<Running>) -> Self {
        Self { running }
    }
}

impl fmt::Debug for Scraped {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Scraped")
            .field("plugins", &self.running.slots().keys().collect::<Vec<_>>())
            .field("pipelines", &self.running.pipelines().keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Labels as name-value pairs.
type Pairs = Vec<(&'static str, String)>;

/// Writes one family of `kind` with a sample per label set.
fn family<L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    samples: impl IntoIterator<Item = (L, u64)>,
) -> fmt::Result {
    let mut metric = encoder.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in samples {
        let sample = metric.encode_family(&labels)?;
        match kind {
            MetricType::Counter => ConstCounter::new(value).encode(sample)?,
            _ => ConstGauge::new(value as i64).encode(sample)?,
        }
    }
    Ok(())
}

impl Collector for Scraped {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let snapshots: Vec<_> = self
            .running
            .pipelines()
            .iter()
            .map(|(name, pipeline)| (name.clone(), pipeline.stats.snapshot()))
            .collect();
        let slots = self.running.slots();
        family(
            &mut encoder,
            "fleethost_partitions_waiting_for_backend",
            "Partitions whose batch waits for a backend the host found unavailable (Redis, the database, Kafka)",
            MetricType::Gauge,
            snapshots
                .iter()
                .map(|(pipeline, snapshot)| (vec![("pipeline", pipeline.clone())], snapshot.waiting.len() as u64)),
        )?;
        family(
            &mut encoder,
            "fleethost_partitions_paused",
            "Assigned partitions whose fetching is paused, by reason: an operator's pause, or a batch waiting for a backend",
            MetricType::Gauge,
            snapshots.iter().flat_map(|(pipeline, snapshot)| {
                [
                    (
                        vec![("pipeline", pipeline.clone()), ("reason", "backend".to_string())],
                        snapshot.paused,
                    ),
                    (
                        vec![("pipeline", pipeline.clone()), ("reason", "operator".to_string())],
                        snapshot.paused_by_operator,
                    ),
                ]
            }),
        )?;
        let plugin_labels = |slot: &PluginSlot| -> Pairs {
            vec![
                ("plugin", slot.name().to_string()),
                ("version", slot.current().version().to_string()),
            ]
        };
        family(
            &mut encoder,
            "fleethost_plugin_info",
            "The plugin version running now (always 1)",
            MetricType::Gauge,
            slots.values().map(|slot| (plugin_labels(slot), 1)),
        )?;
        family(
            &mut encoder,
            "fleethost_plugin_memory_bytes",
            "Linear memory the running version's live instances hold (one per partition worker)",
            MetricType::Gauge,
            slots
                .values()
                .map(|slot| (plugin_labels(slot), slot.current().memory_bytes())),
        )?;
        family(
            &mut encoder,
            "fleethost_plugin_reloads",
            "New plugin versions activated, and refused or rolled back",
            MetricType::Counter,
            slots.values().flat_map(|slot| {
                let plugin = slot.name().to_string();
                [
                    (
                        vec![("plugin", plugin.clone()), ("outcome", "activated".to_string())],
                        slot.activations(),
                    ),
                    (
                        vec![("plugin", plugin), ("outcome", "refused".to_string())],
                        slot.refusals(),
                    ),
                ]
            }),
        )?;
        let unlabelled = |value| [(Pairs::new(), value)];
        if let Some(stats) = crate::memory::allocator_stats() {
            family(
                &mut encoder,
                "fleethost_memory_allocated_bytes",
                "Bytes the host's code (Rust and librdkafka) holds from its allocator; the plugins' linear memories are not in it",
                MetricType::Gauge,
                unlabelled(stats.allocated),
            )?;
            family(
                &mut encoder,
                "fleethost_memory_allocator_resident_bytes",
                "Bytes of the allocator's pages in RAM: the allocated bytes plus its caches and fragmentation",
                MetricType::Gauge,
                unlabelled(stats.resident),
            )?;
        }
        if let Some(resident) = crate::memory::process_resident_bytes() {
            family(
                &mut encoder,
                "process_resident_memory_bytes",
                "Resident set size: all the process holds in RAM (allocator pages, plugins' linear memories, code)",
                MetricType::Gauge,
                unlabelled(resident),
            )?;
        }
        Ok(())
    }
}
