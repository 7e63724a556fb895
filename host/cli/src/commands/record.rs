//! `fleethost record`: a plugin at work in a running host, recorded into a
//! folder that `fleethost test --replay` runs again bit for bit.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use fleethost_core::admin::RecordingStatus;
use fleethost_core::console;

use crate::admin_client::{AdminArgs, AdminClient};

/// How often the host is asked how the recording stands.
const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// Record a plugin of a running host (through its admin interface): the
/// next batches one of its partition workers gives it, on a fresh instance,
/// with every host call and its answer, every clock reading and the seeds
/// of its random numbers, written to a folder with the component.
/// `fleethost test --replay DIR` runs them again, bit for bit: an incident
/// becomes a test.
#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    #[command(flatten)]
    pub admin: AdminArgs,
    /// The plugin's name in the host's config.
    pub plugin: String,
    /// Batches to record (1 to 1000).
    #[arg(long, default_value_t = 10)]
    pub batches: u32,
    /// The folder to write (created; its recording files are replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Seconds to wait for the batches; then the recording stops with what
    /// it has.
    #[arg(long, default_value_t = 60)]
    pub timeout_s: u64,
}

impl RecordArgs {
    /// Asks for the recording, waits for it, and writes it.
    pub async fn execute(self) -> anyhow::Result<()> {
        tokio::task::spawn_blocking(move || self.record())
            .await
            .context("the recording's thread")?
    }

    fn record(&self) -> anyhow::Result<()> {
        let client = AdminClient::new(&self.admin)?;
        let started = client.start_recording(&self.plugin, self.batches)?;
        if let Some(error) = started.error {
            bail!("recording of {} refused: {error}", self.plugin);
        }
        console::out(&format!(
            "recording the next {} batches of {} (until {} s have passed)",
            self.batches, self.plugin, self.timeout_s
        ));
        let deadline = Instant::now() + Duration::from_secs(self.timeout_s);
        let mut shown = None;
        let status = loop {
            let status = client.recording(&self.plugin)?;
            if status.state == "done" {
                break status;
            }
            if shown != Some(status.recorded) && status.state == "recording" {
                console::out(&format!("recorded {} of {} batches", status.recorded, status.requested));
                shown = Some(status.recorded);
            }
            if Instant::now() >= deadline {
                let stopped = client.stop_recording(&self.plugin)?;
                if stopped.state != "done" {
                    bail!(
                        "no batch reached plugin {} in {} s (is its pipeline consuming?); the request is withdrawn",
                        self.plugin,
                        self.timeout_s
                    );
                }
                break stopped;
            }
            std::thread::sleep(POLL_INTERVAL);
        };
        self.write(&client, status)
    }

    /// Writes the finished recording, with its component when the host has it.
    fn write(&self, client: &AdminClient, status: RecordingStatus) -> anyhow::Result<()> {
        let recording = status
            .recording
            .with_context(|| format!("the host reported the recording of {} done without it", self.plugin))?;
        let component = client.recording_component(&self.plugin)?;
        recording
            .write(&self.out, component.as_deref())
            .with_context(|| format!("cannot write the recording to {}", self.out.display()))?;
        let meta = &recording.meta;
        console::out(&format!(
            "recorded {} batches of {}@{} (pipeline {}, {}) in {}: {}",
            recording.batches.len(),
            meta.plugin,
            meta.version,
            meta.pipeline,
            meta.partition,
            self.out.display(),
            meta.ended
        ));
        match component {
            Some(_) => console::out(&format!("replay it: fleethost test --replay {}", self.out.display())),
            None => console::out(&format!(
                "the host could not read version {} of the component (its file changed); \
                 replay it with that build: fleethost test --replay {} PLUGIN.wasm",
                meta.version,
                self.out.display()
            )),
        }
        Ok(())
    }
}
