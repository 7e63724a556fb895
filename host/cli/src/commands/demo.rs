//! `fleethost demo`: the whole system in one process.

use std::path::PathBuf;
use std::time::Duration;

use fleethost_apps::demo::DemoConfig;
use fleethost_core::config::Config;

use crate::Context;

/// Run the whole system in one process against a Kafka broker: the
/// drivers' gateway, a simulated fleet driving through it (one WebSocket
/// per driver), every pipeline of --config, and the tracking server
/// with the live map; it prints the map's address and live figures.
///
/// Stores: --redis-url / --database-url are used as given. Without them
/// the config's `redis.url` / `database.url` are used when they answer,
/// else the embedded defaults: an in-process key-value store (shared by
/// the pipelines and the tracking server; gone at exit) and a SQLite
/// file in --data-dir. The demo says which it runs on.
/// SIGINT/SIGTERM: the fleet stops, the gateway flushes, the pipelines
/// commit, the tracking server closes; exit 0 (124 when that took longer
/// than the shutdown bound).
///
/// Each run writes under its own namespace, which it names at start: a
/// key prefix for every plugin with kv grants, the tracking server and
/// the figures, and its own copy of every table the plugins write, so
/// that an earlier run's drivers and history never show.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// The host's config: pipelines and plugins (e.g. examples/fleethost.toml).
    #[arg(long, short)]
    pub config: PathBuf,
    /// Kafka bootstrap servers [default: the config's].
    #[arg(long, env = "FLEETHOST_BOOTSTRAP")]
    pub bootstrap_servers: Option<String>,
    /// Redis to use (or `memory:` for the embedded store), as given.
    #[arg(long)]
    pub redis_url: Option<String>,
    /// Database to use (`postgres://…` or `sqlite://PATH`), as given.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Folder of the embedded SQLite database.
    #[arg(long, default_value = "fleethost-demo")]
    pub data_dir: PathBuf,
    /// Address of the drivers' gateway.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub gateway_listen: std::net::SocketAddr,
    /// Address of the tracking server and live map.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub map_listen: std::net::SocketAddr,
    /// Simulated drivers.
    #[arg(long, default_value_t = 2000)]
    pub drivers: usize,
    /// Fixes per second for the whole fleet [default: one per driver per second].
    #[arg(long)]
    pub rate: Option<f64>,
    /// Random seed of the fleet [default: the current time, so that each
    /// run has new order ids: trip state kept in Redis from an earlier
    /// run would take a reused order id for a redelivery].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Partitions of the topics the demo creates.
    #[arg(long, default_value_t = 4)]
    pub partitions: i32,
    /// Seconds between the demo's figure lines.
    #[arg(long, default_value_t = 10)]
    pub figures_interval: u64,
    /// Milliseconds from the first SIGINT/SIGTERM within which the demo
    /// must have stopped, else it names what did not finish and exits
    /// with status 124 [default: the config's `shutdown.timeout_ms`].
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub shutdown_timeout_ms: Option<u64>,
}

impl DemoArgs {
    /// Runs the demo until the first signal, within the shutdown bound.
    pub async fn execute(self, context: &Context<'_>) -> anyhow::Result<()> {
        let mut config = Config::load(&self.config)?;
        if let Some(bootstrap_servers) = self.bootstrap_servers {
            config.kafka.bootstrap_servers = bootstrap_servers;
        }
        if let Some(timeout_ms) = self.shutdown_timeout_ms {
            config.shutdown.timeout_ms = timeout_ms;
        }
        let shutdown = context
            .signals
            .graceful(Duration::from_millis(config.shutdown.timeout_ms));
        let seed = self.seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|elapsed| elapsed.as_secs())
                .unwrap_or(42)
        });
        let demo = DemoConfig {
            config,
            config_path: self.config,
            redis_url: self.redis_url,
            database_url: self.database_url,
            data_dir: self.data_dir,
            gateway_listen: self.gateway_listen,
            map_listen: self.map_listen,
            drivers: self.drivers,
            rate: self.rate.unwrap_or(self.drivers.max(1) as f64),
            seed,
            partitions: self.partitions,
            figures_interval: Duration::from_secs(self.figures_interval.max(1)),
        };
        fleethost_apps::demo::run(demo, shutdown).await?;
        Ok(())
    }
}
