//! `fleethost dlq`: dead letters listed, shown in full, and redriven
//! through their pipeline after a fix.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;
use fleethost_core::capabilities::Backends;
use fleethost_core::config::Config;
use fleethost_core::console;
use fleethost_core::kafka::producer::Producer;
use fleethost_core::kafka::topic_reader::{Bound, StoredRecord, read_topic};
use fleethost_core::pipeline::dead_letter::{
    DEAD_LETTER_SUFFIX, HEADER_ERROR_KIND, HEADER_PIPELINE, HEADER_PLUGIN, HEADER_SOURCE_OFFSET,
    HEADER_SOURCE_PARTITION, HEADER_SOURCE_TOPIC,
};
use fleethost_core::pipeline::redrive::{
    Outcome, Redrive, Selection, dead_letter_reason, processed_before, redriven_topic, timestamp_text,
};

use crate::{Context, UNCONFIGURED_SHUTDOWN_TIMEOUT};

/// Read the dead letters of a topic, and put them back through their
/// pipeline after a fix.
#[derive(Debug, clap::Args)]
pub struct DlqArgs {
    #[command(subcommand)]
    pub command: DlqCommand,
}

/// What to do with the dead letters.
#[derive(Debug, clap::Subcommand)]
pub enum DlqCommand {
    /// One line per dead letter (where it is, when, its kind, the plugin,
    /// where it came from, why), after a count by kind.
    List(DlqSelectionArgs),
    /// Each dead letter in full: every header, its key and its payload.
    Show(DlqSelectionArgs),
    /// Put the dead letters back through their pipeline (the plugins from
    /// the one that failed each onward) and print each outcome. Every
    /// outcome is recorded in TOPIC.redriven: a letter processed once is
    /// skipped by the next redrive; one that fails again can be redriven
    /// after the next fix. Exits 1 when a letter failed again.
    Redrive(DlqSelectionArgs),
}

/// Which dead letters, of which topic.
#[derive(Debug, clap::Args)]
pub struct DlqSelectionArgs {
    /// The host's TOML config file: how to reach Kafka, and for `redrive`
    /// the pipelines and plugins.
    #[arg(long, short)]
    pub config: PathBuf,
    /// The dead-letter topic (`rider-updates.dlq`), or the topic whose dead
    /// letters to read (`rider-updates`).
    pub topic: String,
    /// Only dead letters of this kind (`not-json`, `rejected`, `trap`, ...).
    #[arg(long)]
    pub kind: Option<String>,
    /// Only dead letters at or after this offset of the dead-letter topic,
    /// or this RFC 3339 time (`2026-12-07T10:00:00Z`).
    #[arg(long, value_parser = Bound::parse)]
    pub from: Option<Bound>,
    /// Only dead letters at or before this offset or time.
    #[arg(long, value_parser = Bound::parse)]
    pub to: Option<Bound>,
}

impl DlqSelectionArgs {
    /// The dead-letter topic named.
    fn dead_letter_topic(&self) -> String {
        if self.topic.ends_with(DEAD_LETTER_SUFFIX) {
            self.topic.clone()
        } else {
            format!("{}{DEAD_LETTER_SUFFIX}", self.topic)
        }
    }

    fn selection(&self) -> Selection {
        Selection {
            kind: self.kind.clone(),
            from: self.from,
            to: self.to,
        }
    }

    /// The config, and the selected dead letters of the topic.
    async fn read(&self) -> anyhow::Result<(Config, String, Vec<StoredRecord>)> {
        let config = Config::load(&self.config)?;
        let topic = self.dead_letter_topic();
        let (kafka, name) = (config.kafka.clone(), topic.clone());
        let letters = tokio::task::spawn_blocking(move || read_topic(&kafka, &name))
            .await?
            .with_context(|| format!("cannot read {topic}"))?;
        let selection = self.selection();
        let letters = letters.into_iter().filter(|letter| selection.selects(letter)).collect();
        Ok((config, topic, letters))
    }
}

impl DlqArgs {
    /// Runs the subcommand.
    pub async fn execute(self, context: &Context<'_>) -> anyhow::Result<()> {
        match self.command {
            DlqCommand::List(args) => list(args).await,
            DlqCommand::Show(args) => show(args).await,
            DlqCommand::Redrive(args) => redrive(args, context).await,
        }
    }
}

async fn list(args: DlqSelectionArgs) -> anyhow::Result<()> {
    let (_, topic, letters) = args.read().await?;
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for letter in &letters {
        *kinds
            .entry(letter.header(HEADER_ERROR_KIND).unwrap_or("?"))
            .or_default() += 1;
    }
    let by_kind: Vec<String> = kinds.iter().map(|(kind, count)| format!("{kind} {count}")).collect();
    console::out(&format!(
        "{topic}: {} dead letter(s){}",
        letters.len(),
        if by_kind.is_empty() {
            String::new()
        } else {
            format!(" ({})", by_kind.join(", "))
        }
    ));
    for letter in &letters {
        console::out(&format!(
            "{}@{}  {}  {}  {}  from {}  {}",
            letter.partition,
            letter.offset,
            timestamp_text(letter.timestamp_ms),
            letter.header(HEADER_ERROR_KIND).unwrap_or("?"),
            letter.header(HEADER_PLUGIN).unwrap_or("-"),
            source_text(letter),
            dead_letter_reason(letter)
        ));
    }
    Ok(())
}

async fn show(args: DlqSelectionArgs) -> anyhow::Result<()> {
    let (_, topic, letters) = args.read().await?;
    for letter in &letters {
        console::out(&format!(
            "{topic} {}@{}  {}",
            letter.partition,
            letter.offset,
            timestamp_text(letter.timestamp_ms)
        ));
        for (name, value) in &letter.headers {
            console::out(&format!("  {name}: {value}"));
        }
        let text = |bytes: &Option<Vec<u8>>| {
            bytes.as_deref().map_or_else(
                || "(none)".to_string(),
                |bytes| String::from_utf8_lossy(bytes).into_owned(),
            )
        };
        console::out(&format!("  key: {}", text(&letter.key)));
        console::out(&format!("  payload: {}", text(&letter.payload)));
    }
    console::out(&format!("{} dead letter(s)", letters.len()));
    Ok(())
}

async fn redrive(args: DlqSelectionArgs, context: &Context<'_>) -> anyhow::Result<()> {
    let (config, topic, letters) = args.read().await?;
    let (kafka, record_topic) = (config.kafka.clone(), redriven_topic(&topic));
    let recorded = tokio::task::spawn_blocking(move || read_topic(&kafka, &record_topic))
        .await?
        .with_context(|| format!("cannot read {}", redriven_topic(&topic)))?;
    let processed = processed_before(&recorded);
    let stop = context.signals.graceful(UNCONFIGURED_SHUTDOWN_TIMEOUT);
    let runtime = fleethost_core::app::plugin_runtime(context.native_plugins.clone())?;
    let producer = Producer::new(&config.kafka)?;
    let backends = Backends::connect(&config, Some(producer.clone()))?;
    let slots = fleethost_core::app::load_slots(&config, &runtime, &backends).await?;
    let redrive = Redrive {
        config: &config,
        slots: &slots,
        producer: &producer,
    };
    let report = redrive.run(&topic, &letters, &processed, &stop).await?;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for redriven in &report {
        *counts.entry(redriven.outcome.name()).or_default() += 1;
        let reason = redriven
            .outcome
            .reason()
            .map(|reason| format!("  {reason}"))
            .unwrap_or_default();
        console::out(&format!(
            "{}@{}  from {}  {}{reason}",
            redriven.partition,
            redriven.offset,
            redriven.source,
            redriven.outcome.name()
        ));
    }
    let summary: Vec<String> = counts.iter().map(|(name, count)| format!("{name} {count}")).collect();
    console::out(&format!(
        "{topic}: {} dead letter(s) redriven: {}",
        report.len(),
        if summary.is_empty() {
            "none".to_string()
        } else {
            summary.join(", ")
        }
    ));
    let failed = report
        .iter()
        .filter(|redriven| matches!(redriven.outcome, Outcome::Failed { .. } | Outcome::NotInConfig { .. }))
        .count();
    if failed > 0 {
        anyhow::bail!("{failed} dead letter(s) failed again; they stay in {topic}");
    }
    Ok(())
}

/// Where a dead letter came from: `topic/partition@offset` (pipeline).
fn source_text(letter: &StoredRecord) -> String {
    format!(
        "{}/{}@{} ({})",
        letter.header(HEADER_SOURCE_TOPIC).unwrap_or("?"),
        letter.header(HEADER_SOURCE_PARTITION).unwrap_or("?"),
        letter.header(HEADER_SOURCE_OFFSET).unwrap_or("?"),
        letter.header(HEADER_PIPELINE).unwrap_or("?")
    )
}
