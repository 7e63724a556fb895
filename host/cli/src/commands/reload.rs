//! `fleethost reload`: a plugin of a running host reloaded through its admin interface.

use fleethost_core::console;

use crate::admin_client::{AdminArgs, AdminClient};

/// Reload a plugin of a running host now (through its admin interface)
/// and print the result: the new version, or why it was refused.
#[derive(Debug, clap::Args)]
pub struct ReloadArgs {
    #[command(flatten)]
    pub admin: AdminArgs,
    /// The plugin's name in the config.
    pub plugin: String,
}

impl ReloadArgs {
    /// Asks the host for the reload and prints its report; a refusal is an
    /// error (exit 1) with the host's reason.
    pub async fn execute(self) -> anyhow::Result<()> {
        let client = AdminClient::new(&self.admin)?;
        let plugin = self.plugin;
        let report = tokio::task::spawn_blocking(move || client.reload(&plugin)).await??;
        console::out(&serde_json::to_string_pretty(&report)?);
        match report.error {
            Some(error) => anyhow::bail!("reload of {} refused: {error}", report.plugin),
            None => Ok(()),
        }
    }
}
