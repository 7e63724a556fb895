//! `fleethost status`: what a running host runs, through its admin interface.

use fleethost_core::console;

use crate::admin_client::{AdminArgs, AdminClient};

/// Show what a running host runs (through its admin interface): the
/// plugin versions, with the reason of any refused reload, and each
/// pipeline's state (running, paused, partly paused, waiting for a
/// backend: which partitions, for how long, why), rate, lag per
/// partition, plugin versions and totals.
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
            let coalesced = match pipeline.coalesced {
                0 => String::new(),
                coalesced => format!(", {coalesced} coalesced"),
            };
            console::out(&format!(
                "pipeline {}: {}  {:.0} events/s  lag {}  plugins {}  ({} events, {} batches, {} dead letters{coalesced})",
                pipeline.name,
                pipeline.state,
                pipeline.events_per_second,
                pipeline.lag,
                pipeline.plugins.join(" → "),
                pipeline.events,
                pipeline.batches,
                pipeline.dead_letters
            ));
            for partition in &pipeline.partitions {
                let committed = partition
                    .committed
                    .map_or_else(|| "none".to_string(), |offset| offset.to_string());
                console::out(&format!(
                    "    {}/{}: committed {committed}, high watermark {}, lag {}{}",
                    partition.topic,
                    partition.partition,
                    partition.high_watermark,
                    partition.lag,
                    if partition.paused { "  (paused)" } else { "" }
                ));
            }
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
