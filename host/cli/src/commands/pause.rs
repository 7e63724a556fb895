//! `fleethost pause` and `fleethost resume`: an operator stops and restarts
//! a pipeline's consumption through the admin interface.

use fleethost_core::console;

use crate::admin_client::{AdminArgs, AdminClient, PauseChange};

/// Pause a pipeline of a running host (or one partition of it): each
/// paused partition finishes its in-flight batch, stores its offset and
/// stops fetching. Nothing is dropped and no offset moves until it is
/// resumed; the pause lasts until `fleethost resume` or a restart.
#[derive(Debug, clap::Args)]
pub struct PauseArgs {
    #[command(flatten)]
    pub admin: AdminArgs,
    /// The pipeline's name in the config.
    pub pipeline: String,
    /// Only this partition number (of every topic the pipeline consumes);
    /// without it, the whole pipeline.
    #[arg(long, value_parser = clap::value_parser!(i32).range(0..))]
    pub partition: Option<i32>,
}

/// Resume what `fleethost pause` paused: the whole pipeline, or one
/// partition; consumption goes on from the committed offsets.
#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    #[command(flatten)]
    pub admin: AdminArgs,
    /// The pipeline's name in the config.
    pub pipeline: String,
    /// Only this partition number; without it, everything paused.
    #[arg(long, value_parser = clap::value_parser!(i32).range(0..))]
    pub partition: Option<i32>,
}

impl PauseArgs {
    /// Asks the host to pause and prints what is paused now.
    pub async fn execute(self) -> anyhow::Result<()> {
        change(self.admin, self.pipeline, self.partition, PauseChange::Pause).await
    }
}

impl ResumeArgs {
    /// Asks the host to resume and prints what is still paused.
    pub async fn execute(self) -> anyhow::Result<()> {
        change(self.admin, self.pipeline, self.partition, PauseChange::Resume).await
    }
}

async fn change(admin: AdminArgs, pipeline: String, partition: Option<i32>, change: PauseChange) -> anyhow::Result<()> {
    let client = AdminClient::new(&admin)?;
    let report = tokio::task::spawn_blocking(move || client.change_pause(&pipeline, partition, change)).await??;
    if let Some(error) = report.error {
        anyhow::bail!("pipeline {}: {error}", report.pipeline);
    }
    let paused = &report.paused;
    let now = if paused.all {
        "every partition paused".to_string()
    } else if paused.partitions.is_empty() {
        "nothing paused".to_string()
    } else {
        format!("partitions {:?} paused", paused.partitions)
    };
    console::out(&format!("pipeline {}: {now}", report.pipeline));
    Ok(())
}
