//! `fleethost track`: customers' live tracking over WebSockets.

use std::path::PathBuf;

use fleethost_apps::tracking::TrackConfig;
use fleethost_apps::tracking::live_keys::{DEFAULT_PLUGIN, LiveKeys};
use fleethost_apps::tracking::live_store::{LiveSource, RedisAt};
use fleethost_core::capabilities::kv::backend::is_memory_url;
use fleethost_core::config::{Config, RedisConfig};

use crate::access_args::AccessArgs;
use crate::tls_args::TlsArgs;
use crate::{Context, UNCONFIGURED_SHUTDOWN_TIMEOUT};

/// Serve customers' live tracking: WebSockets on a driver or an order,
/// fanned out from Redis pub/sub.
///
/// `GET /ws/track?driver=ID` sends the driver's current position (from
/// the hash `{P}driver:ID`) and then every message live-location
/// publishes on `{P}live:driver:ID`; `?order=ID` sends every message on
/// `{P}live:order:ID` (positions, and ETAs when the eta plugin runs).
/// `--config` reads P, the GEO set of the live map and the Redis from the
/// host's config, where live-location is configured.
/// One Redis subscription per channel however many customers watch it.
/// A customer that falls behind gets `{"type":"lagged","missed":N}`.
/// A customer presents a token (`Authorization: Bearer` or
/// `?access_token=`) with `aud` `fleethost-track` and `sub` `driver:ID` or
/// `order:ID`, the one thing it may follow; an operator's token (`aud`
/// `fleethost-operator`) may follow anything and is needed for the live
/// map (`/map?access_token=TOKEN`), `/api/map` and `/stats`.
/// `GET /health` answers 200, `GET /stats` the subscription and watcher
/// counts. SIGINT/SIGTERM: close the WebSockets and exit 0.
#[derive(Debug, clap::Args)]
pub struct TrackArgs {
    /// Address to listen on for customers (and /health, /stats).
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: std::net::SocketAddr,
    /// The Redis the plugins write positions to and publish on (default:
    /// the config's `redis.url` with `--config`, else the local Redis).
    #[arg(long, env = "FLEETHOST_REDIS_URL")]
    pub redis_url: Option<String>,
    /// PEM file of the CA that signed a `rediss://` Redis's certificate
    /// (default: the config's `redis.ca_file` with `--config`, else the
    /// system's trust store).
    #[arg(long, value_name = "FILE")]
    pub redis_ca_file: Option<PathBuf>,
    /// The host's config file: the keys are live-location's `key_prefix`
    /// and `geo_key` there (the plugin named by `--plugin`).
    #[arg(long, short, conflicts_with_all = ["key_prefix", "geo_key"])]
    pub config: Option<PathBuf>,
    /// The name of the live-location plugin in `--config`.
    #[arg(long, default_value = DEFAULT_PLUGIN, requires = "config")]
    pub plugin: String,
    /// The plugins' `key_prefix` (P above), without `--config`.
    #[arg(long, default_value = "")]
    pub key_prefix: String,
    /// live-location's `geo_key`, the GEO set the live map lists drivers
    /// from (default `drivers:geo`), without `--config`.
    #[arg(long)]
    pub geo_key: Option<String>,
    /// Messages each channel buffers for its slowest customer.
    #[arg(long, default_value_t = 64)]
    pub buffer: usize,
    #[command(flatten)]
    pub access: AccessArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
}

impl TrackArgs {
    /// Serves customers until the first signal; refuses the embedded store,
    /// which a separate process cannot see.
    pub async fn execute(self, context: &Context<'_>) -> anyhow::Result<()> {
        // The keys, and the Redis the config names (with where it says so).
        let (keys, configured_redis) = match &self.config {
            Some(path) => {
                let config = Config::load(path)?;
                let keys = LiveKeys::from_config(&config, &self.plugin)
                    .map_err(|reason| anyhow::anyhow!("{}: {reason} (--plugin)", path.display()))?;
                let origin = format!("{}: redis.url", path.display());
                (keys, (config.redis.url, origin, config.redis.ca_file))
            }
            None => {
                let mut keys = LiveKeys::with_prefix(self.key_prefix);
                if let Some(geo_key) = self.geo_key {
                    keys.geo_key = geo_key;
                }
                (keys, (RedisConfig::default().url, "--redis-url".to_string(), None))
            }
        };
        let (redis_url, origin, configured_ca) = match self.redis_url {
            Some(url) => (url, "--redis-url".to_string(), None),
            None => configured_redis,
        };
        if is_memory_url(&redis_url) {
            anyhow::bail!(
                "{origin} {redis_url}: the embedded store lives inside one process, so a separate `fleethost track` cannot see it; use `fleethost demo` (it runs the tracking server beside the pipelines) or a real Redis"
            );
        }
        let access = self.access.access("tracking server")?;
        let config = TrackConfig {
            access,
            listen: self.listen,
            source: LiveSource::Redis(RedisAt {
                url: redis_url,
                ca_file: self.redis_ca_file.or(configured_ca),
            }),
            keys,
            buffer: self.buffer,
            tls: self.tls.server_tls()?,
        };
        fleethost_apps::tracking::run(config, context.signals.graceful(UNCONFIGURED_SHUTDOWN_TIMEOUT)).await?;
        Ok(())
    }
}
