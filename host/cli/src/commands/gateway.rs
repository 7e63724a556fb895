//! `fleethost gateway`: the drivers' WebSocket gateway into Kafka.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use fleethost_apps::gateway::{GatewayConfig, Partitioning};

use crate::access_args::AccessArgs;
use crate::format_args::FormatArgs;
use crate::kafka_args::KafkaArgs;
use crate::tls_args::TlsArgs;
use crate::{Context, UNCONFIGURED_SHUTDOWN_TIMEOUT};

/// Accept driver apps' WebSocket connections and produce their location
/// fixes to Kafka.
///
/// `GET /ws/driver` upgrades to a WebSocket for a driver app with a token
/// (`Authorization: Bearer TOKEN` or `?access_token=TOKEN`) whose `aud` is
/// `fleethost-driver` and whose `sub` is its driver id; without a valid
/// one the answer is 401 with the reason. Each text frame is one fix in
/// the seed JSON format, validated with the host's decoder. A valid fix is
/// produced keyed by driver id, exactly as received, or encoded in Avro or
/// Protobuf when the topic's `[topics."NAME".format]` (--format-config or
/// --kafka-config) says so, and gets no reply
/// (unless the app connected with `?ack=true`: then cumulative
/// `{"ack":N}` frames). A bad frame is answered with
/// `{"error":"...","kind":"...","frame":N}` and the connection stays
/// open; a fix naming another driver than the token's is answered with
/// kind `wrong-driver`, a fix the topic's format cannot encode with kind
/// `unencodable`, a fix Kafka did not take with kind `unavailable`.
/// When the token expires the connection is closed (1008).
/// When Kafka is slow a connection stops reading (TCP slows the app down)
/// instead of buffering. `GET /health` answers 200. SIGINT/SIGTERM: stop
/// accepting, settle in-flight fixes, close the connections, flush, exit 0.
#[derive(Debug, clap::Args)]
pub struct GatewayArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub format: FormatArgs,
    /// Address to listen on for driver apps (and /health).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Topic of the fixes (created with --partitions if missing).
    #[arg(long, default_value = "rider-updates")]
    pub topic: String,
    /// Partitions of the topic when it is created.
    #[arg(long, default_value_t = 4)]
    pub partitions: i32,
    /// `driver`: Kafka's default partitioner on the driver id. `region`:
    /// fixes whose state/region is `south` to partition 0, the others over
    /// the remaining partitions by driver id (a hotspot on partition 0,
    /// and a driver who changes region loses per-driver order).
    #[arg(long, value_enum, default_value_t = Partitioning::Driver)]
    pub partitioning: Partitioning,
    /// The most fixes of one connection awaiting Kafka's acknowledgement;
    /// at the limit the gateway stops reading that connection.
    #[arg(long, default_value_t = 1000)]
    pub max_in_flight: usize,
    /// Seconds between status lines (connections, frames/s, bad frames,
    /// delivery failures).
    #[arg(long, default_value_t = 5)]
    pub status_interval: u64,
    /// Close a connection whose driver app sent nothing (no frame, no
    /// ping) for this many seconds while none of its fixes awaits Kafka:
    /// a phone that vanished without closing its socket. 0: never.
    #[arg(long, default_value_t = 120)]
    pub idle_timeout: u64,
    #[command(flatten)]
    pub access: AccessArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
    /// The most driver connections open at once; one more is answered 503.
    #[arg(long, default_value_t = 100_000)]
    pub max_connections: usize,
    /// Fixes one connection may send per second on average; a faster app is
    /// read more slowly (nothing is dropped). 0: no limit.
    #[arg(long, default_value_t = 10)]
    pub max_fixes_per_second: u32,
    /// Fixes one connection may send at once above its rate (a phone's
    /// backlog after a tunnel).
    #[arg(long, default_value_t = 200)]
    pub fix_burst: u32,
}

impl GatewayArgs {
    /// Serves driver apps until the first signal, then settles and flushes.
    pub async fn execute(self, context: &Context<'_>) -> anyhow::Result<()> {
        let config = GatewayConfig {
            kafka: self.kafka.kafka()?,
            format: Arc::new(self.format.format(&self.kafka, &self.topic)?),
            listen: self.listen,
            topic: self.topic,
            partitions: self.partitions,
            partitioning: self.partitioning,
            max_in_flight_per_connection: self.max_in_flight,
            status_interval: Duration::from_secs(self.status_interval.max(1)),
            idle_timeout: (self.idle_timeout > 0).then(|| Duration::from_secs(self.idle_timeout)),
            access: self.access.access("gateway")?,
            max_connections: self.max_connections,
            max_fixes_per_second: NonZeroU32::new(self.max_fixes_per_second),
            fix_burst: NonZeroU32::new(self.fix_burst).unwrap_or(NonZeroU32::MIN),
            tls: self.tls.server_tls()?,
        };
        fleethost_apps::gateway::run(config, context.signals.graceful(UNCONFIGURED_SHUTDOWN_TIMEOUT)).await?;
        Ok(())
    }
}
