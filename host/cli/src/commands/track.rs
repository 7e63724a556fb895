//! `fleethost track`: customers' live tracking over WebSockets.

use fleethost_apps::tracking::TrackConfig;
use fleethost_apps::tracking::live_store::LiveSource;
use fleethost_core::capabilities::kv::backend::is_memory_url;

use crate::{Context, UNCONFIGURED_SHUTDOWN_TIMEOUT};

/// Serve customers' live tracking: WebSockets on a driver or an order,
/// fanned out from Redis pub/sub.
///
/// `GET /ws/track?driver=ID` sends the driver's current position (from
/// the hash `{P}driver:ID`) and then every message live-location
/// publishes on `{P}live:driver:ID`; `?order=ID` sends every message on
/// `{P}live:order:ID` (positions, and ETAs when the eta plugin runs).
/// One Redis subscription per channel however many customers watch it.
/// A customer that falls behind gets `{"type":"lagged","missed":N}`.
/// `GET /health` answers 200, `GET /stats` the subscription and watcher
/// counts. SIGINT/SIGTERM: close the WebSockets and exit 0.
#[derive(Debug, clap::Args)]
pub struct TrackArgs {
    /// Address to listen on for customers (and /health, /stats).
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: std::net::SocketAddr,
    /// The Redis the plugins write positions to and publish on.
    #[arg(long, default_value = "redis://127.0.0.1:6379", env = "FLEETHOST_REDIS_URL")]
    pub redis_url: String,
    /// The plugins' `key_prefix` (P above).
    #[arg(long, default_value = "")]
    pub key_prefix: String,
    /// Messages each channel buffers for its slowest customer.
    #[arg(long, default_value_t = 64)]
    pub buffer: usize,
}

impl TrackArgs {
    /// Serves customers until the first signal; refuses the embedded store,
    /// which a separate process cannot see.
    pub async fn execute(self, context: &Context<'_>) -> anyhow::Result<()> {
        if is_memory_url(&self.redis_url) {
            anyhow::bail!(
                "--redis-url {}: the embedded store lives inside one process, so a separate `fleethost track` cannot see it; use `fleethost demo` (it runs the tracking server beside the pipelines) or a real Redis",
                self.redis_url
            );
        }
        let config = TrackConfig {
            listen: self.listen,
            source: LiveSource::Redis(self.redis_url),
            key_prefix: self.key_prefix,
            buffer: self.buffer,
        };
        fleethost_apps::tracking::run(config, context.signals.graceful(UNCONFIGURED_SHUTDOWN_TIMEOUT)).await?;
        Ok(())
    }
}
