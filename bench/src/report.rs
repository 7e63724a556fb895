//! The results: JSON (everything measured) and a Markdown table (medians,
//! spreads, and each of the targets with the measured figure).

use std::fmt::Write;
use std::path::Path;

use serde::Serialize;

use crate::environment::Environment;
use crate::latency::LatencyResult;
use crate::measurement::{Measurement, Spread, Summary};
use crate::plugin_batch::{FIXES_PER_BATCH, PluginBatchResult};
use crate::wasm_crossing::CrossingResult;

/// Everything one benchmark run produced.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The command line that produced it.
    pub command: String,
    /// Unix seconds when the run started.
    pub started_unix_s: u64,
    pub environment: Environment,
    pub events: u64,
    pub order_events: u64,
    pub drivers: usize,
    pub partitions: i32,
    pub rounds: u32,
    pub measurements: Vec<Measurement>,
    pub summaries: Vec<Summary>,
    pub latency: Vec<LatencyResult>,
    pub wasm_crossing: Vec<CrossingResult>,
    /// One real plugin's batch, wasm and native, without the sinks.
    pub plugin_batch: Vec<PluginBatchResult>,
    /// Contenders that failed, with why.
    pub errors: Vec<String>,
}

impl Report {
    /// Writes `results.json` and `results.md` into `dir`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::write(dir.join("results.json"), serde_json::to_string_pretty(self)?)?;
        std::fs::write(dir.join("results.md"), self.markdown())?;
        Ok(())
    }

    fn median_rate(&self, contender: &str) -> Option<f64> {
        self.summaries
            .iter()
            .find(|s| s.contender == contender)
            .and_then(|s| s.events_per_s)
            .map(|s| s.median)
    }

    /// The Markdown results.
    pub fn markdown(&self) -> String {
        let env = &self.environment;
        let mut out = String::new();
        let _ = writeln!(out, "Command: `{}`\n", self.command);
        let _ = writeln!(
            out,
            "Machine: {} ({} cores, {} GiB, Linux {}). fleethost {}, {}, Node.js {}, PostgreSQL {}, Redis {}, broker {}.\n",
            env.cpu,
            env.cores,
            env.memory_gib,
            env.kernel,
            env.fleethost_commit,
            env.rustc,
            env.node,
            env.postgres,
            env.redis,
            env.broker
        );
        let _ = writeln!(
            out,
            "Data: {} fixes from {} drivers (plus {} order events) over {} partitions; {} round(s), contenders alternating within each round; median (min–max).\n",
            self.events, self.drivers, self.order_events, self.partitions, self.rounds
        );
        let _ = writeln!(
            out,
            "| contender | events/s | CPU s per 1M events | peak RSS MiB | busy cores (machine) | broker CPU s per 1M | Redis CPU s per 1M | PostgreSQL CPU s per 1M |\n|---|---:|---:|---:|---:|---:|---:|---:|"
        );
        for summary in &self.summaries {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                summary.contender,
                spread(summary.events_per_s, 0),
                spread(summary.cpu_s_per_million, 2),
                spread(summary.peak_rss_mib, 0),
                spread(summary.busy_cores, 2),
                spread(summary.broker_cpu_s_per_million, 2),
                spread(summary.redis_cpu_s_per_million, 2),
                spread(summary.postgres_cpu_s_per_million, 2),
            );
        }
        if !self.latency.is_empty() {
            let _ = writeln!(
                out,
                "\nLatency, produce → live position published (`raw-consume`: produce → received by a plain consumer of the broker, the floor; `nice` of the pipelines besides live-location; fixes/s each pipeline committed while measuring):\n\n\
                 | pipelines | offered events/s | others' nice | produced events/s | samples | p50 ms | p99 ms | p99.9 ms | max ms | committed fixes/s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
            );
            for l in &self.latency {
                let committed = l
                    .committed_per_s
                    .iter()
                    .map(|(pipeline, rate)| format!("{pipeline} {rate:.0}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {committed} |",
                    l.pipelines,
                    l.offered_per_s,
                    l.others_nice,
                    l.produced_per_s,
                    l.samples,
                    l.p50_ms,
                    l.p99_ms,
                    l.p999_ms,
                    l.max_ms
                );
            }
        }
        if !self.wasm_crossing.is_empty() {
            let _ = writeln!(
                out,
                "\nCrossing into wasm (criterion, `cargo bench -p fleethost-native --bench wasm_crossing`), one `process-batch` call of a plugin that does nothing:\n\n\
                 | batch size | per batch µs | per event ns |\n|---:|---:|---:|"
            );
            for c in &self.wasm_crossing {
                let _ = writeln!(
                    out,
                    "| {} | {:.2} | {:.0} |",
                    c.batch_size,
                    c.per_batch_ns / 1000.0,
                    c.per_batch_ns / c.batch_size as f64
                );
            }
        }
        if !self.plugin_batch.is_empty() {
            let _ = writeln!(
                out,
                "\nOne plugin's batch of {FIXES_PER_BATCH} fixes from as many drivers, kv in the in-process store, no broker (criterion, `cargo bench -p fleethost-native --bench plugin_batch`):\n\n\
                 | plugin | build | per batch ms | per fix µs | against native |\n|---|---|---:|---:|---:|"
            );
            for result in &self.plugin_batch {
                let native = self
                    .plugin_batch
                    .iter()
                    .find(|other| other.plugin == result.plugin && other.build == "native");
                let against = native.map_or("—".to_string(), |native| {
                    format!("{:.2}×", result.per_batch_ns / native.per_batch_ns)
                });
                let _ = writeln!(
                    out,
                    "| {} | {} | {:.2} | {:.2} | {against} |",
                    result.plugin,
                    result.build,
                    result.per_batch_ns / 1e6,
                    result.per_batch_ns / 1e3 / FIXES_PER_BATCH as f64
                );
            }
        }
        let _ = writeln!(out, "\nTargets:\n\n| target | measured | reached |\n|---|---|---|");
        for (target, measured, reached) in self.targets() {
            let _ = writeln!(
                out,
                "| {target} | {measured} | {} |",
                match reached {
                    Some(true) => "yes",
                    Some(false) => "**no**",
                    None => "not measured",
                }
            );
        }
        if !self.errors.is_empty() {
            let _ = writeln!(out, "\nFailed:\n");
            for error in &self.errors {
                let _ = writeln!(out, "- {error}");
            }
        }
        out
    }

    /// Each target of the benchmark issue: text, measured figure, reached.
    fn targets(&self) -> Vec<(String, String, Option<bool>)> {
        let mut targets = Vec::new();
        let rate = |name: &str| self.median_rate(name);
        let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
        let all5 = rate("fleethost-all5");
        targets.push((
            "all five pipelines ≥ 100,000 events/s".to_string(),
            fmt_rate(all5),
            all5.map(|r| r >= 100_000.0),
        ));
        let db_vs_copy = ratio(rate("fleethost-db"), rate("postgres-copy"));
        targets.push((
            "db-writer ≥ 0.8 × `psql \\copy`".to_string(),
            fmt_ratio(db_vs_copy),
            db_vs_copy.map(|r| r >= 0.8),
        ));
        let live_db = rate("fleethost-live+db");
        targets.push((
            "live-location + db-writer ≥ 100,000 events/s".to_string(),
            format!(
                "{} ({} the seed pipeline)",
                fmt_rate(live_db),
                fmt_ratio(ratio(live_db, rate("seed-node")))
            ),
            live_db.map(|r| r >= 100_000.0),
        ));
        for scenario in ["live", "db", "live+db", "all5"] {
            let wasm_vs_native = ratio(
                rate(&format!("fleethost-{scenario}")),
                rate(&format!("native-{scenario}")),
            );
            targets.push((
                format!("wasm ≥ 0.9 × native ({scenario})"),
                fmt_ratio(wasm_vs_native),
                wasm_vs_native.map(|r| r >= 0.9),
            ));
        }
        let at_20k = |pipelines: &str| {
            self.latency
                .iter()
                .find(|l| l.offered_per_s == 20_000 && l.pipelines == pipelines)
                .map(|l| l.p99_ms)
        };
        let (p99, broker_p99) = (at_20k("all5"), at_20k(crate::broker_latency::NAME));
        targets.push((
            "live-location p99 ≤ 50 ms at 20,000 events/s (all five running)".to_string(),
            p99.map_or("—".to_string(), |ms| {
                let floor = broker_p99.map_or(String::new(), |floor| format!(" (the broker alone: {floor} ms)"));
                format!("{ms} ms{floor}")
            }),
            p99.map(|ms| ms <= 50),
        ));
        let rss = self
            .summaries
            .iter()
            .find(|s| s.contender == "fleethost-all5")
            .and_then(|s| s.peak_rss_mib)
            .map(|s| s.max);
        targets.push((
            "host RSS ≤ 150 MiB, five plugins, full load".to_string(),
            rss.map_or("—".to_string(), |mib| format!("{mib:.0} MiB (highest round)")),
            rss.map(|mib| mib <= 150.0),
        ));
        targets
    }
}

fn spread(value: Option<Spread>, decimals: usize) -> String {
    match value {
        Some(s) if s.min == s.max => format!("{:.*}", decimals, s.median),
        Some(s) => format!(
            "{:.*} ({:.*}–{:.*})",
            decimals, s.median, decimals, s.min, decimals, s.max
        ),
        None => "—".to_string(),
    }
}

fn fmt_rate(rate: Option<f64>) -> String {
    rate.map_or("—".to_string(), |r| format!("{r:.0} events/s"))
}

fn fmt_ratio(ratio: Option<f64>) -> String {
    ratio.map_or("—".to_string(), |r| format!("{r:.2}×"))
}
