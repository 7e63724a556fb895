//! `fleethost test`: a plugin run over batches from files, offline, with
//! every host call it makes printed, and compared with a golden file; or a
//! recording of `fleethost record` replayed and compared with what it
//! recorded.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use fleethost_core::config::PluginConfig;
use fleethost_core::console;
use fleethost_core::harness::fixtures::FixtureFiles;
use fleethost_core::harness::recording::{self, Recording};
use fleethost_core::harness::replay::replay;
use fleethost_core::harness::{Harness, TEST_PIPELINE, report};
use fleethost_core::runtime::{Determinism, Inputs};

use crate::{golden, snippet};

/// The clock of a test whose fixtures carry no time at all
/// (2026-01-01T00:00:00Z).
const DEFAULT_NOW_MS: i64 = 1_767_225_600_000;

/// Run a plugin over fixes (and order events) from files, without a broker:
/// the same sandbox, limits and grant checks as `run`, in-memory kv, SQL
/// (SQLite) and produce, a fixed clock and seeded randomness. Prints each
/// host call and its answer and each batch's outcome as JSON lines. With
/// --replay, runs a recording of `fleethost record` again instead.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// The plugin component (.wasm); defaults to the `path` of its section in
    /// --plugin-config (with --replay: the recording's plugin.wasm).
    pub plugin: Option<PathBuf>,
    /// A recording's folder (`fleethost record --out DIR`): its batches run
    /// again, the plugin's host calls answered and its clocks read from the
    /// recording, its random numbers from the recording's seeds; the output
    /// must equal the recording's expected.jsonl (or --expect), bit for bit.
    #[arg(
        long,
        value_name = "DIR",
        conflicts_with_all = ["fixes", "orders", "plugin_config", "plugin_name", "config", "now_ms", "seed"]
    )]
    pub replay: Option<PathBuf>,
    /// Location fixes, one JSON message per line.
    #[arg(long)]
    pub fixes: Option<PathBuf>,
    /// Order events, one JSON message per line; merged with the fixes in
    /// event-time order.
    #[arg(long)]
    pub orders: Option<PathBuf>,
    /// A TOML file with the plugin's `[plugins.NAME]` section (config map,
    /// limits, grants), like the one `fleethost new` writes. Without it the
    /// plugin has an empty config and no grants.
    #[arg(long)]
    pub plugin_config: Option<PathBuf>,
    /// Which section of --plugin-config, when it has several.
    #[arg(long)]
    pub plugin_name: Option<String>,
    /// A config entry for `init`, over the section's (repeatable).
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub config: Vec<(String, String)>,
    /// Most records per batch.
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
    /// The wall clock the plugin sees, in ms since the Unix epoch; also the
    /// Kafka timestamp the records are held to. Default: the newest event
    /// time in the files.
    #[arg(long)]
    pub now_ms: Option<i64>,
    /// Seed of the plugin's random numbers.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// A golden file: the output must equal it, or the differences are shown
    /// and the command fails.
    #[arg(long)]
    pub expect: Option<PathBuf>,
    /// With --expect: write this run's output to the golden file instead.
    #[arg(long, requires = "expect")]
    pub bless: bool,
}

impl TestArgs {
    /// Runs every batch and prints (or compares) the lines.
    pub async fn execute(self) -> anyhow::Result<()> {
        if let Some(dir) = &self.replay {
            return self.replay(dir.clone()).await;
        }
        let (name, plugin) = self.plugin_section()?;
        let files = FixtureFiles {
            fixes: self.fixes.clone(),
            orders: self.orders.clone(),
            batch_size: self.batch_size,
            pipeline: TEST_PIPELINE.to_string(),
            fixes_topic: "rider-updates".to_string(),
            orders_topic: "order-events".to_string(),
        };
        let now_ms = match self.now_ms {
            Some(now_ms) => now_ms,
            None => files.newest_timestamp_ms()?.unwrap_or(DEFAULT_NOW_MS),
        };
        let determinism = Determinism {
            now_ms,
            seed: self.seed,
        };
        let lines = tokio::task::spawn_blocking(move || run(&name, &plugin, &files, determinism))
            .await
            .context("the test's thread")??;
        self.compare(&lines, self.expect.as_deref(), None)
    }

    /// Replays the recording in `dir` and compares the lines with its
    /// expected.jsonl (or --expect).
    async fn replay(&self, dir: PathBuf) -> anyhow::Result<()> {
        let recording =
            Recording::read(&dir).with_context(|| format!("cannot read the recording in {}", dir.display()))?;
        let mut plugin = recording.meta.plugin_config.clone();
        if let Some(component) = &self.plugin {
            plugin.path = component.clone();
        } else if !plugin.path.exists() {
            bail!(
                "{} has no {} (the host could not read the recorded version): name the component, \
                 fleethost test --replay {} PLUGIN.wasm",
                dir.display(),
                recording::COMPONENT_FILE,
                dir.display()
            );
        }
        let recorded = recording.meta.version.clone();
        let run = tokio::task::spawn_blocking(move || replay(&recording, &plugin))
            .await
            .context("the replay's thread")??;
        if run.version != recorded {
            console::out(&format!(
                "note: replaying version {} of the plugin; the recording ran {recorded}",
                run.version
            ));
        }
        let expected = self
            .expect
            .clone()
            .unwrap_or_else(|| dir.join(recording::EXPECTED_FILE));
        let divergence = run
            .divergence
            .map(|divergence| format!("; the replay diverged at {divergence}"));
        self.compare(&run.lines, Some(&expected), divergence)
    }

    /// Prints `lines`, or compares them with the golden file `expected_path`
    /// (or writes it, with --bless); a difference fails, with `why` appended.
    fn compare(&self, lines: &[String], expected_path: Option<&Path>, why: Option<String>) -> anyhow::Result<()> {
        let output = lines.join("\n") + "\n";
        let Some(expected_path) = expected_path else {
            console::out(output.trim_end());
            return Ok(());
        };
        if self.bless {
            std::fs::write(expected_path, &output)
                .with_context(|| format!("cannot write {}", expected_path.display()))?;
            console::out(&format!("wrote {} lines to {}", lines.len(), expected_path.display()));
            return Ok(());
        }
        let expected = std::fs::read_to_string(expected_path)
            .with_context(|| format!("cannot read the golden file {}", expected_path.display()))?;
        match golden::compare(expected_path, &expected, &output) {
            None => {
                console::out(&format!("ok: {} lines as in {}", lines.len(), expected_path.display()));
                Ok(())
            }
            Some(diff) => {
                console::out(diff.trim_end());
                bail!(
                    "the output differs from {} (above; --bless writes this run's output there){}",
                    expected_path.display(),
                    why.unwrap_or_default()
                )
            }
        }
    }

    /// The plugin's name and section: from --plugin-config, with the
    /// positional component and the --config entries over it.
    fn plugin_section(&self) -> anyhow::Result<(String, PluginConfig)> {
        let (name, mut plugin) = match &self.plugin_config {
            Some(path) => read_section(path, self.plugin_name.as_deref())?,
            None => {
                let Some(component) = &self.plugin else {
                    bail!("name the plugin's .wasm file, or give --plugin-config with its section");
                };
                let name = component
                    .file_stem()
                    .map_or_else(|| "plugin".to_string(), |stem| stem.to_string_lossy().into_owned());
                (name, PluginConfig::new(component))
            }
        };
        if let Some(component) = &self.plugin {
            plugin.path = component.clone();
        }
        plugin.config.extend(self.config.iter().cloned());
        Ok((name, plugin))
    }
}

/// The section `name` (or the only one) of the `plugins` table in `path`;
/// its `path` is relative to the file's folder.
fn read_section(path: &Path, name: Option<&str>) -> anyhow::Result<(String, PluginConfig)> {
    let table = snippet::read(path)?;
    let Some(toml::Value::Table(plugins)) = table.get("plugins") else {
        bail!("{}: no [plugins.NAME] section", path.display());
    };
    let (name, section) = match name {
        Some(name) => plugins
            .get(name)
            .map(|section| (name.to_string(), section.clone()))
            .with_context(|| format!("{}: no [plugins.{name}] section", path.display()))?,
        None if plugins.len() == 1 => {
            let (name, section) = plugins.iter().next().expect("one section");
            (name.clone(), section.clone())
        }
        None => bail!(
            "{}: {} plugin sections ({}); pick one with --plugin-name",
            path.display(),
            plugins.len(),
            plugins.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
    };
    let mut plugin: PluginConfig = section
        .try_into()
        .with_context(|| format!("{}: plugins.{name}", path.display()))?;
    if plugin.path.is_relative()
        && let Some(folder) = path.parent()
    {
        plugin.path = folder.join(&plugin.path);
    }
    Ok((name, plugin))
}

/// Every batch of `files` through the plugin; the output's lines.
fn run(
    name: &str,
    plugin: &PluginConfig,
    files: &FixtureFiles,
    determinism: Determinism,
) -> anyhow::Result<Vec<String>> {
    let fixtures = files.load(determinism.now_ms)?;
    let mut harness = Harness::start(name, plugin, Inputs::Fixed(determinism))?;
    let mut lines: Vec<String> = harness
        .init_calls()
        .iter()
        .map(|call| report::call_line(report::INIT_TAG, call))
        .collect();
    lines.extend(fixtures.undecodable.iter().map(report::undecodable_line));
    for (index, batch) in fixtures.batches.iter().enumerate() {
        lines.push(report::batch_line(index, batch));
        let run = harness.run(batch)?;
        let tag = report::batch_tag(index);
        lines.extend(run.calls.iter().map(|call| report::call_line(&tag, call)));
        lines.push(report::outcome_line(index, batch, &run.outcome));
    }
    Ok(lines)
}

/// `KEY=VALUE` as a pair.
fn parse_key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))
}
