//! `GET /metrics`: the host's counters in the Prometheus text format, so the
//! usual scrapers and dashboards read them. Rendered from the same counters as
//! the progress line; nothing is counted twice.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

use crate::pipeline::stats::PipelineStats;
use crate::runtime::PluginSlot;

/// Renders every metric of the pipelines and plugins.
pub fn render(pipelines: &BTreeMap<String, Arc<PipelineStats>>, slots: &BTreeMap<String, Arc<PluginSlot>>) -> String {
    let mut out = String::new();
    let snapshots: Vec<_> = pipelines.iter().map(|(name, stats)| (name, stats.snapshot())).collect();
    let mut family = |name: &str, help: &str, kind: &str, samples: Vec<(String, u64)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            if labels.is_empty() {
                let _ = writeln!(out, "{name} {value}");
            } else {
                let _ = writeln!(out, "{name}{{{labels}}} {value}");
            }
        }
    };
    let per_pipeline = |value: fn(&crate::pipeline::stats::StatsSnapshot) -> u64| {
        snapshots
            .iter()
            .map(|(pipeline, snapshot)| (format!("pipeline=\"{}\"", escape(pipeline)), value(snapshot)))
            .collect::<Vec<_>>()
    };
    family(
        "fleethost_events_total",
        "Messages finished (processed or dead-lettered).",
        "counter",
        per_pipeline(|snapshot| snapshot.events),
    );
    family(
        "fleethost_batches_total",
        "Batches finished.",
        "counter",
        per_pipeline(|snapshot| snapshot.batches),
    );
    family(
        "fleethost_dead_letters_total",
        "Messages written to a dead-letter topic.",
        "counter",
        per_pipeline(|snapshot| snapshot.dead_letters),
    );
    let failures = snapshots
        .iter()
        .flat_map(|(pipeline, snapshot)| {
            snapshot
                .failures
                .iter()
                .map(move |(kind, count)| (format!("pipeline=\"{}\",kind=\"{kind}\"", escape(pipeline)), *count))
        })
        .collect();
    family(
        "fleethost_plugin_failures_total",
        "Failed plugin calls by kind (trap, timeout, memory, plugin-error, backend-unavailable, invalid-output); retries count.",
        "counter",
        failures,
    );
    family(
        "fleethost_partitions_waiting_for_backend",
        "Partitions whose batch waits for a backend the host found unavailable (Redis, the database, Kafka).",
        "gauge",
        per_pipeline(|snapshot| snapshot.waiting.len() as u64),
    );
    family(
        "fleethost_partitions_paused",
        "Partitions whose fetching is paused while their batch waits for a backend: nothing more of them is read into memory.",
        "gauge",
        per_pipeline(|snapshot| snapshot.paused),
    );
    let plugin_labels = |slot: &PluginSlot| {
        format!(
            "plugin=\"{}\",version=\"{}\"",
            escape(slot.name()),
            slot.current().version()
        )
    };
    family(
        "fleethost_plugin_info",
        "The plugin version running now (always 1).",
        "gauge",
        slots.values().map(|slot| (plugin_labels(slot), 1)).collect(),
    );
    family(
        "fleethost_grant_denied_total",
        "Capability calls (kv, sql, produce) refused by the grants of the running plugin version.",
        "counter",
        slots
            .values()
            .map(|slot| (plugin_labels(slot), slot.current().denied()))
            .collect(),
    );
    family(
        "fleethost_plugin_memory_bytes",
        "Linear memory the running version's live instances hold (one per partition worker).",
        "gauge",
        slots
            .values()
            .map(|slot| (plugin_labels(slot), slot.current().memory_bytes()))
            .collect(),
    );
    let reloads = slots
        .values()
        .flat_map(|slot| {
            let plugin = escape(slot.name());
            [
                (format!("plugin=\"{plugin}\",outcome=\"activated\""), slot.activations()),
                (format!("plugin=\"{plugin}\",outcome=\"refused\""), slot.refusals()),
            ]
        })
        .collect();
    family(
        "fleethost_plugin_reloads_total",
        "New plugin versions activated, and refused or rolled back.",
        "counter",
        reloads,
    );
    if let Some(stats) = crate::memory::allocator_stats() {
        family(
            "fleethost_memory_allocated_bytes",
            "Bytes the host's code (Rust and librdkafka) holds from its allocator; the plugins' linear memories are not in it.",
            "gauge",
            vec![(String::new(), stats.allocated)],
        );
        family(
            "fleethost_memory_allocator_resident_bytes",
            "Bytes of the allocator's pages in RAM: the allocated bytes plus its caches and fragmentation.",
            "gauge",
            vec![(String::new(), stats.resident)],
        );
    }
    if let Some(resident) = crate::memory::process_resident_bytes() {
        family(
            "process_resident_memory_bytes",
            "Resident set size: all the process holds in RAM (allocator pages, plugins' linear memories, code).",
            "gauge",
            vec![(String::new(), resident)],
        );
    }
    out
}

/// Escapes a label value (backslash, quote, newline).
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
