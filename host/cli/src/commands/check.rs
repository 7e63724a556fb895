//! `fleethost check`: a config and its plugins validated without consuming.

use anyhow::Context as _;
use fleethost_core::capabilities::Backends;
use fleethost_core::config::Config;
use fleethost_core::console;
use std::path::PathBuf;

use crate::Context;

/// Validate the config and load every plugin (compile + init) without
/// consuming anything.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The TOML config file.
    #[arg(long, short)]
    pub config: PathBuf,
}

impl CheckArgs {
    /// Loads the config and every plugin, and lists what would run.
    pub async fn execute(self, context: &Context<'_>) -> anyhow::Result<()> {
        let config = Config::load(&self.config)?;
        let runtime = fleethost_core::app::plugin_runtime(context.native_plugins.clone())?;
        // No producer: `check` does not touch Kafka (plugins' init cannot produce).
        let backends = Backends::connect(&config, None)?;
        let plugins = fleethost_core::app::load_plugins(&config, &runtime, &backends)
            .await
            .with_context(|| self.config.display().to_string())?;
        console::out(&format!(
            "{}: ok, {} pipeline(s)",
            self.config.display(),
            config.pipelines.len()
        ));
        for plugin in plugins.values() {
            console::out(&format!(
                "  plugin {} (WIT {}, {})",
                plugin.label(),
                plugin.world().as_str(),
                plugin.path().display()
            ));
        }
        Ok(())
    }
}
