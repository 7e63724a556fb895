//! `fleethost replay`: a plugin version judged over a range of its
//! pipeline's topics against the version that runs live, in shadow sinks.

use std::path::PathBuf;

use fleethost_core::config::Config;
use fleethost_core::console;
use fleethost_core::kafka::topic_reader::Bound;
use fleethost_core::pipeline::replay::{Difference, ReplayRequest, replay, run_name};

use crate::{Context, UNCONFIGURED_SHUTDOWN_TIMEOUT};

/// How many names of each kind of difference are printed.
const SHOWN: usize = 5;

/// Replay a range of a plugin's pipeline through the configured version
/// ("live") and a candidate, each writing to its own shadow sinks (kv keys
/// under `replay:RUN:VERSION:`, tables `TABLE_rRUN_VERSION`, topics
/// `TOPIC.replay-RUN-VERSION`; live data is never touched), reading in the
/// shadow consumer group `GROUP.replay`; then print how the two differ:
/// events rejected, kv state, publications, produced records, rows. The
/// shadow sinks stay, to be looked at.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The host's TOML config file.
    #[arg(long, short)]
    pub config: PathBuf,
    /// The plugin, by its name in the config.
    pub plugin: String,
    /// The candidate component file; without it the configured file is
    /// replayed against itself (a check that it is deterministic).
    #[arg(long, value_name = "FILE")]
    pub candidate: Option<PathBuf>,
    /// The pipeline, when more than one runs the plugin.
    #[arg(long)]
    pub pipeline: Option<String>,
    /// The start of the range: an offset of each partition, or an RFC 3339
    /// time.
    #[arg(long, value_parser = Bound::parse)]
    pub from: Bound,
    /// The end of the range (inclusive), an offset or a time; without it,
    /// the end of each partition now.
    #[arg(long, value_parser = Bound::parse)]
    pub to: Option<Bound>,
}

impl ReplayArgs {
    /// Runs both versions over the range and prints the comparison.
    pub async fn execute(self, context: &Context<'_>) -> anyhow::Result<()> {
        let mut config = Config::load(&self.config)?;
        let candidate = self.candidate.map(|path| {
            if path.is_relative() {
                std::env::current_dir().map(|dir| dir.join(&path)).unwrap_or(path)
            } else {
                path
            }
        });
        // Nothing in a replay reports progress lines.
        config.status.interval_ms = 0;
        let request = ReplayRequest {
            plugin: self.plugin,
            pipeline: self.pipeline,
            candidate,
            from: self.from,
            to: self.to,
            run: run_name(),
        };
        let stop = context.signals.graceful(UNCONFIGURED_SHUTDOWN_TIMEOUT);
        let runtime = fleethost_core::app::plugin_runtime(context.native_plugins.clone())?;
        let report = replay(&config, &runtime, &request, &stop).await?;
        let ranges: Vec<String> = report
            .ranges
            .iter()
            .map(|range| format!("{}/{} {}..{}", range.topic, range.partition, range.start, range.end))
            .collect();
        console::out(&format!(
            "replay {} of pipeline {} (group {}): {} records ({} undecodable, skipped) from {}",
            request.run,
            report.pipeline,
            report.group,
            report.records,
            report.undecodable,
            ranges.join(", ")
        ));
        for run in [&report.live, &report.candidate] {
            let recording = &run.recording;
            console::out(&format!(
                "  {} {}: {} rejected, {} kv entries, {} publications, {} records produced, {} rows; {}",
                run.label,
                run.version,
                run.rejected.len(),
                recording.kv.len(),
                recording.published.values().map(Vec::len).sum::<usize>(),
                recording.produced.values().map(Vec::len).sum::<usize>(),
                recording.rows.values().map(Vec::len).sum::<usize>(),
                run.sinks
            ));
        }
        let differences = report.differences();
        let differing: Vec<_> = differences
            .iter()
            .filter(|(_, difference)| !difference.is_empty())
            .collect();
        if differing.is_empty() {
            console::out("no differences");
        }
        for (what, difference) in differing {
            console::out(&describe(what, difference));
        }
        Ok(())
    }
}

/// One kind of difference: counts and the first few names.
fn describe(what: &str, difference: &Difference) -> String {
    let mut text = format!(
        "differences in {what}: {} only live, {} only candidate, {} changed",
        difference.only_live.len(),
        difference.only_candidate.len(),
        difference.changed.len()
    );
    for name in difference.only_live.iter().take(SHOWN) {
        text.push_str(&format!("\n    only live: {name}"));
    }
    for name in difference.only_candidate.iter().take(SHOWN) {
        text.push_str(&format!("\n    only candidate: {name}"));
    }
    for (name, live, candidate) in difference.changed.iter().take(SHOWN) {
        text.push_str(&format!(
            "\n    changed: {name}: live {live:?}, candidate {candidate:?}"
        ));
    }
    text
}
