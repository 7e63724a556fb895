//! `fleethost run`: the consumer host itself.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use fleethost_core::app::RunOptions;
use fleethost_core::config::Config;

use crate::Context;

/// Run every pipeline of the config until SIGINT/SIGTERM, then finish
/// in-flight batches, commit and exit 0; when that has not ended within
/// `shutdown.timeout_ms`, name what did not finish and exit 124. A
/// second signal exits at once (130).
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The TOML config file.
    #[arg(long, short)]
    pub config: PathBuf,
}

impl RunArgs {
    /// Runs the config's pipelines until the first signal, then stops within
    /// `shutdown.timeout_ms`.
    pub async fn execute(self, context: &Context<'_>) -> anyhow::Result<()> {
        let config = Config::load(&self.config)?;
        let shutdown = context
            .signals
            .graceful(Duration::from_millis(config.shutdown.timeout_ms));
        let file = self.config.display().to_string();
        let options = RunOptions {
            config_path: Some(self.config),
            native_plugins: context.native_plugins.clone(),
            ..RunOptions::default()
        };
        fleethost_core::app::run(config, options, shutdown)
            .await
            .context(file)?;
        Ok(())
    }
}
