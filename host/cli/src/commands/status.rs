//! `fleethost status`: what a running host runs, through its admin interface.

use fleethost_core::console;

use crate::admin_client::{AdminArgs, AdminClient};

/// Show the plugin versions a running host runs (through its admin
/// interface), with the reason of any refused reload, and each
/// pipeline's state (running, or waiting for a backend: which partitions,
/// for how long, why) and totals.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub admin: AdminArgs,
}

impl StatusArgs {
    /// Prints each plugin's version and reload history, then each pipeline's
    /// state and totals.
    pub async fn execute(self) -> anyhow::Result<()> {
        let client = AdminClient::new(&self.admin)?;
        let (plugins, pipelines) =
            tokio::task::spawn_blocking(move || anyhow::Ok((client.plugins()?, client.pipelines()?))).await??;
        for plugin in plugins {
            console::out(&format!(
                "{}@{}  WIT {}  {}  (reloads: {} activated, {} refused or rolled back)",
                plugin.name, plugin.version, plugin.wit, plugin.path, plugin.activations, plugin.refusals
            ));
            if let Some(refusal) = plugin.last_refusal {
                console::out(&format!("    last refused: {refusal}"));
            }
        }
        for pipeline in pipelines {
            let state = if pipeline.waiting_for_backend.is_empty() {
                "running"
            } else {
                "waiting for a backend"
            };
            console::out(&format!(
                "pipeline {}: {state}  ({} events, {} batches, {} dead letters)",
                pipeline.name, pipeline.events, pipeline.batches, pipeline.dead_letters
            ));
            for wait in pipeline.waiting_for_backend {
                console::out(&format!(
                    "    {}/{} waiting {} s: {}",
                    wait.topic, wait.partition, wait.waited_s, wait.reason
                ));
            }
        }
        Ok(())
    }
}
