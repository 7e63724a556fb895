//! `fleethost tail`: topics followed from their end and printed.

use std::time::Duration;

use crate::kafka_args::KafkaArgs;
use crate::{Context, UNCONFIGURED_SHUTDOWN_TIMEOUT};

/// Follow topics (ETAs, fares, notifications, dead letters) from their
/// end and print what arrives: every record, or a summary per topic.
#[derive(Debug, clap::Args)]
pub struct TailArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// Print, every SECONDS, each topic's record count, rate and newest
    /// record instead of every record.
    #[arg(long, value_name = "SECONDS")]
    pub summary: Option<u64>,
    /// Topics to follow.
    #[arg(required = true)]
    pub topics: Vec<String>,
}

impl TailArgs {
    /// Follows the topics until the first signal.
    pub async fn execute(self, context: &Context<'_>) -> anyhow::Result<()> {
        let config = fleethost_apps::tail::TailConfig {
            kafka: self.kafka.kafka()?,
            topics: self.topics,
            summary: self.summary.map(|seconds| Duration::from_secs(seconds.max(1))),
        };
        let stop = context.signals.graceful(UNCONFIGURED_SHUTDOWN_TIMEOUT);
        tokio::task::spawn_blocking(move || fleethost_apps::tail::tail(&config, &stop)).await??;
        Ok(())
    }
}
