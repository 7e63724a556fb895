//! `fleethost simulate`: a fleet of delivery drivers produced to Kafka.

use std::sync::Arc;

use fleethost_apps::simulate::SimulationConfig;
use fleethost_core::auth::{SecretSource, TokenAlgorithm, TokenSigner};
use fleethost_core::config::PayloadFormat;

use crate::format_args::FormatArgs;
use crate::kafka_args::KafkaArgs;
use crate::{Context, UNCONFIGURED_SHUTDOWN_TIMEOUT};

/// Simulate a fleet of delivery drivers: GPS fixes, and the matching order
/// lifecycle events, produced to Kafka.
///
/// Each driver repeatedly gets an order (`order_assigned`, with a pickup
/// 0.3-3 km away and a drop-off 1-5 km beyond it, inside the city), drives
/// to the pickup in a straight line at 5-13 m/s, waits there 20-120 s
/// (`picked_up`), drives to the drop-off (`delivered` on arrival), idles
/// 15-90 s and starts over; 3% of the orders are `cancelled` before pickup.
/// Fixes follow those trips, with a few metres of GPS jitter, and carry the
/// order's `order_id` while the driver has one. Both topics are keyed by
/// driver id; every order event has the timestamp of one of its driver's
/// fixes. Runs are reproducible: the same --seed and --rate give every
/// driver the same trips, fixes and order ids (timestamps count from the
/// start of the run). Both are JSON, or Avro or Protobuf for a topic whose
/// `[topics."NAME".format]` (--format-config or --kafka-config) says so.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub format: FormatArgs,
    /// Topic of the GPS fixes (created with --partitions if missing).
    #[arg(long, default_value = "rider-updates")]
    pub topic: String,
    /// Topic of the order lifecycle events: order_assigned, picked_up,
    /// delivered, cancelled (created with --partitions if missing).
    #[arg(long, default_value = "order-events")]
    pub orders_topic: String,
    /// Produce no order events; the fixes then carry no order_id (the
    /// drivers still drive the same trips).
    #[arg(long, conflicts_with = "orders_topic")]
    pub no_orders: bool,
    /// Number of drivers.
    #[arg(long, default_value_t = 1000)]
    pub drivers: usize,
    /// Fixes per second for the whole fleet, drivers in turn [default: one per driver per second].
    #[arg(long)]
    pub rate: Option<f64>,
    /// Stop after this many fixes (order events not counted) [default: run until Ctrl-C].
    #[arg(long)]
    pub count: Option<u64>,
    /// Partitions of the topics when they are created.
    #[arg(long, default_value_t = 4)]
    pub partitions: i32,
    /// Random seed of the drivers' trips and GPS noise (order ids include it).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Send the fixes through `fleethost gateway` at this URL
    /// (ws://HOST:PORT/ws/driver), one WebSocket per driver, instead of
    /// producing them to --topic (the gateway's --topic and format apply:
    /// the frames are JSON). Order events still go to Kafka.
    #[arg(long, value_name = "URL")]
    pub gateway: Option<String>,
    /// With a `wss://` --gateway whose certificate a private CA signed: the
    /// PEM file of that CA (the system's trust store otherwise).
    #[arg(long, value_name = "FILE", requires = "gateway")]
    pub gateway_ca_file: Option<std::path::PathBuf>,
    /// With --gateway: sign each driver's token (`sub` its driver id, `aud`
    /// fleethost-driver, valid 7 days) with the key read from here,
    /// `file:PATH` or `env:NAME`: the gateway's HS256 secret, or the
    /// RS256/ES256 private key in PEM whose public key the gateway has.
    #[arg(long, value_name = "SOURCE", requires = "gateway")]
    pub driver_token_key: Option<String>,
    /// The algorithm of --driver-token-key.
    #[arg(long, default_value_t = TokenAlgorithm::Hs256)]
    pub driver_token_algorithm: TokenAlgorithm,
}

impl SimulateArgs {
    /// Drives the fleet until `--count` fixes or the first signal.
    pub async fn execute(self, context: &Context<'_>) -> anyhow::Result<()> {
        let driver_tokens = match &self.driver_token_key {
            Some(text) => {
                let signer = text
                    .parse::<SecretSource>()
                    .map_err(fleethost_core::auth::access_token::KeyError::from)
                    .and_then(|source| TokenSigner::load(&source, self.driver_token_algorithm))
                    .map_err(|error| anyhow::anyhow!("--driver-token-key: {error}"))?;
                Some(signer)
            }
            None => None,
        };
        let orders_topic = (!self.no_orders).then_some(self.orders_topic);
        // Through a gateway the fixes topic's format is the gateway's.
        let fixes_format = match self.gateway {
            Some(_) => PayloadFormat::json(),
            None => self.format.format(&self.kafka, &self.topic)?,
        };
        let orders_format = match &orders_topic {
            Some(topic) => self.format.format(&self.kafka, topic)?,
            None => PayloadFormat::json(),
        };
        let config = SimulationConfig {
            driver_tokens,
            kafka: self.kafka.kafka()?,
            topic: self.topic,
            fixes_format: Arc::new(fixes_format),
            orders_topic,
            orders_format: Arc::new(orders_format),
            drivers: self.drivers,
            rate: self.rate.unwrap_or(self.drivers.max(1) as f64),
            count: self.count,
            seed: self.seed,
            partitions: self.partitions,
            gateway: self.gateway,
            gateway_ca_file: self.gateway_ca_file,
        };
        fleethost_apps::simulate::run(config, context.signals.graceful(UNCONFIGURED_SHUTDOWN_TIMEOUT)).await?;
        Ok(())
    }
}
