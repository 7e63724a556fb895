//! `fleethost reload`: a plugin of a running host reloaded through its admin interface.

use fleethost_core::console;

use crate::admin_client;

/// Reload a plugin of a running host now (through its admin interface)
/// and print the result: the new version, or why it was refused.
#[derive(Debug, clap::Args)]
pub struct ReloadArgs {
    /// The host's admin address (`admin.listen` in its config).
    #[arg(long, default_value = "127.0.0.1:9464")]
    pub admin: String,
    /// The plugin's name in the config.
    pub plugin: String,
}

impl ReloadArgs {
    /// Asks the host for the reload and prints its report; a refusal is an
    /// error (exit 1) with the host's reason.
    pub async fn execute(self) -> anyhow::Result<()> {
        let Self { admin, plugin } = self;
        let report = tokio::task::spawn_blocking(move || admin_client::reload(&admin, &plugin)).await??;
        console::out(&serde_json::to_string_pretty(&report)?);
        match report.error {
            Some(error) => anyhow::bail!("reload of {} refused: {error}", report.plugin),
            None => Ok(()),
        }
    }
}
