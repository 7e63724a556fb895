//! `fleethost tail`: topics followed from their end and printed.

use std::time::Duration;

use fleethost_apps::tail::TailConfig;

use crate::format_args::FormatArgs;
use crate::kafka_args::KafkaArgs;
use crate::{Context, UNCONFIGURED_SHUTDOWN_TIMEOUT};

/// Follow topics (ETAs, fares, notifications, dead letters) from their
/// end and print what arrives: every record, or a summary per topic.
///
/// A topic whose `[topics."NAME".format]` (--format-config or
/// --kafka-config) is Avro or Protobuf is printed decoded, as its fields
/// in compact JSON, or as `undecodable (KIND): REASON (N bytes)`; a
/// dead-letter topic `X.dlq` is decoded in X's format.
#[derive(Debug, clap::Args)]
pub struct TailArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub format: FormatArgs,
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
        let formats = TailConfig::formats_of(&self.topics, |topic| self.format.format(&self.kafka, topic))?;
        let config = TailConfig {
            kafka: self.kafka.kafka()?,
            formats,
            topics: self.topics,
            summary: self.summary.map(|seconds| Duration::from_secs(seconds.max(1))),
        };
        let stop = context.signals.graceful(UNCONFIGURED_SHUTDOWN_TIMEOUT);
        tokio::task::spawn_blocking(move || fleethost_apps::tail::tail(&config, &stop)).await??;
        Ok(())
    }
}
