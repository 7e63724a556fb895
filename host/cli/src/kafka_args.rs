//! The flags of a subcommand that talks to Kafka outside the host
//! (`gateway`, `simulate`, `tail`): a broker address, or the `[kafka]`
//! section of a config file with its TLS and SASL.

use std::path::PathBuf;

use fleethost_core::config::{Config, KafkaConfig};

/// Where the brokers are and how to reach them.
#[derive(Debug, Clone, clap::Args)]
pub struct KafkaArgs {
    /// Kafka bootstrap servers (plaintext, no authentication); not used
    /// with --kafka-config.
    #[arg(long, default_value = "127.0.0.1:9092", env = "FLEETHOST_BOOTSTRAP")]
    pub bootstrap_servers: String,
    /// A fleethost config file (the host's own, say) whose `[kafka]`
    /// section says how to reach the brokers: `bootstrap_servers`, `tls`,
    /// `sasl` and the librdkafka properties. Only that section is read for
    /// Kafka; its topics' formats too, unless --format-config names another
    /// file.
    #[arg(long, value_name = "FILE")]
    pub kafka_config: Option<PathBuf>,
}

impl KafkaArgs {
    /// The Kafka settings these flags ask for; a config file is read and
    /// checked now (its SASL password too).
    pub fn kafka(&self) -> anyhow::Result<KafkaConfig> {
        Ok(match &self.kafka_config {
            Some(path) => Config::load_kafka_section(path)?,
            None => KafkaConfig::bootstrap_only(self.bootstrap_servers.clone()),
        })
    }
}
