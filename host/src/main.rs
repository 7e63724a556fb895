//! The `fleethost` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use std::time::Duration;

use clap::{Parser, Subcommand};

use fleethost::config::Config;
use fleethost::console;
use fleethost::shutdown::Signals;

mod admin_client;

/// The shutdown bound of the commands without a config file (tail,
/// gateway, track, simulate): generous, since each bounds its own steps
/// (the gateway waits up to 50 s for its connections and its flush).
const UNCONFIGURED_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(120);

/// Consumer host for real-time location streams: Kafka consumer groups,
/// batching and at-least-once commits, with the business logic in sandboxed
/// WebAssembly plugins.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every pipeline of the config until SIGINT/SIGTERM, then finish
    /// in-flight batches, commit and exit 0; when that has not ended within
    /// `shutdown.timeout_ms`, name what did not finish and exit 124. A
    /// second signal exits at once (130).
    Run {
        /// The TOML config file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validate the config and load every plugin (compile + init) without
    /// consuming anything.
    Check {
        /// The TOML config file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Reload a plugin of a running host now (through its admin interface)
    /// and print the result: the new version, or why it was refused.
    Reload {
        /// The host's admin address (`admin.listen` in its config).
        #[arg(long, default_value = "127.0.0.1:9464")]
        admin: String,
        /// The plugin's name in the config.
        plugin: String,
    },
    /// Show the plugin versions a running host runs (through its admin
    /// interface), with the reason of any refused reload, and each
    /// pipeline's state (running, or waiting for a backend: which partitions,
    /// for how long, why) and totals.
    Status {
        /// The host's admin address (`admin.listen` in its config).
        #[arg(long, default_value = "127.0.0.1:9464")]
        admin: String,
    },
    /// Follow topics (ETAs, fares, notifications, dead letters) from their
    /// end and print what arrives: every record, or a summary per topic.
    Tail {
        /// Kafka bootstrap servers.
        #[arg(long, default_value = "127.0.0.1:9092", env = "FLEETHOST_BOOTSTRAP")]
        bootstrap_servers: String,
        /// Print, every SECONDS, each topic's record count, rate and newest
        /// record instead of every record.
        #[arg(long, value_name = "SECONDS")]
        summary: Option<u64>,
        /// Topics to follow.
        #[arg(required = true)]
        topics: Vec<String>,
    },
    /// Accept driver apps' WebSocket connections and produce their location
    /// fixes to Kafka.
    ///
    /// `GET /ws/driver` upgrades to a WebSocket; each text frame is one fix in
    /// the seed JSON format, validated with the host's decoder. A valid fix is
    /// produced exactly as received, keyed by driver id, and gets no reply
    /// (unless the app connected with `?ack=true`: then cumulative
    /// `{"ack":N}` frames). A bad frame is answered with
    /// `{"error":"...","kind":"...","frame":N}` and the connection stays
    /// open; a fix Kafka did not take is answered with kind `unavailable`.
    /// When Kafka is slow a connection stops reading (TCP slows the app down)
    /// instead of buffering. `GET /health` answers 200. SIGINT/SIGTERM: stop
    /// accepting, settle in-flight fixes, close the connections, flush, exit 0.
    Gateway {
        /// Kafka bootstrap servers.
        #[arg(long, default_value = "127.0.0.1:9092", env = "FLEETHOST_BOOTSTRAP")]
        bootstrap_servers: String,
        /// Address to listen on for driver apps (and /health).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Topic of the fixes (created with --partitions if missing).
        #[arg(long, default_value = "rider-updates")]
        topic: String,
        /// Partitions of the topic when it is created.
        #[arg(long, default_value_t = 4)]
        partitions: i32,
        /// `driver`: Kafka's default partitioner on the driver id. `region`:
        /// fixes whose state/region is `south` to partition 0, the others over
        /// the remaining partitions by driver id (a hotspot on partition 0,
        /// and a driver who changes region loses per-driver order).
        #[arg(long, value_enum, default_value_t = fleethost::gateway::Partitioning::Driver)]
        partitioning: fleethost::gateway::Partitioning,
        /// The most fixes of one connection awaiting Kafka's acknowledgement;
        /// at the limit the gateway stops reading that connection.
        #[arg(long, default_value_t = 1000)]
        max_in_flight: usize,
        /// Seconds between status lines (connections, frames/s, bad frames,
        /// delivery failures).
        #[arg(long, default_value_t = 5)]
        status_interval: u64,
        /// Close a connection whose driver app sent nothing (no frame, no
        /// ping) for this many seconds while none of its fixes awaits Kafka:
        /// a phone that vanished without closing its socket. 0: never.
        #[arg(long, default_value_t = 120)]
        idle_timeout: u64,
    },
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
    Track {
        /// Address to listen on for customers (and /health, /stats).
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: std::net::SocketAddr,
        /// The Redis the plugins write positions to and publish on.
        #[arg(long, default_value = "redis://127.0.0.1:6379", env = "FLEETHOST_REDIS_URL")]
        redis_url: String,
        /// The plugins' `key_prefix` (P above).
        #[arg(long, default_value = "")]
        key_prefix: String,
        /// Messages each channel buffers for its slowest customer.
        #[arg(long, default_value_t = 64)]
        buffer: usize,
    },
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
    Demo {
        /// The host's config: pipelines and plugins (e.g. examples/fleethost.toml).
        #[arg(long, short)]
        config: PathBuf,
        /// Kafka bootstrap servers [default: the config's].
        #[arg(long, env = "FLEETHOST_BOOTSTRAP")]
        bootstrap_servers: Option<String>,
        /// Redis to use (or `memory:` for the embedded store), as given.
        #[arg(long)]
        redis_url: Option<String>,
        /// Database to use (`postgres://…` or `sqlite://PATH`), as given.
        #[arg(long)]
        database_url: Option<String>,
        /// Folder of the embedded SQLite database.
        #[arg(long, default_value = "fleethost-demo")]
        data_dir: PathBuf,
        /// Address of the drivers' gateway.
        #[arg(long, default_value = "127.0.0.1:8080")]
        gateway_listen: std::net::SocketAddr,
        /// Address of the tracking server and live map.
        #[arg(long, default_value = "127.0.0.1:8090")]
        map_listen: std::net::SocketAddr,
        /// Simulated drivers.
        #[arg(long, default_value_t = 2000)]
        drivers: usize,
        /// Fixes per second for the whole fleet [default: one per driver per second].
        #[arg(long)]
        rate: Option<f64>,
        /// Random seed of the fleet [default: the current time, so that each
        /// run has new order ids: trip state kept in Redis from an earlier
        /// run would take a reused order id for a redelivery].
        #[arg(long)]
        seed: Option<u64>,
        /// Partitions of the topics the demo creates.
        #[arg(long, default_value_t = 4)]
        partitions: i32,
        /// Seconds between the demo's figure lines.
        #[arg(long, default_value_t = 10)]
        figures_interval: u64,
        /// Milliseconds from the first SIGINT/SIGTERM within which the demo
        /// must have stopped, else it names what did not finish and exits
        /// with status 124 [default: the config's `shutdown.timeout_ms`].
        #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
        shutdown_timeout_ms: Option<u64>,
    },
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
    /// start of the run).
    Simulate {
        /// Kafka bootstrap servers.
        #[arg(long, default_value = "127.0.0.1:9092", env = "FLEETHOST_BOOTSTRAP")]
        bootstrap_servers: String,
        /// Topic of the GPS fixes (created with --partitions if missing).
        #[arg(long, default_value = "rider-updates")]
        topic: String,
        /// Topic of the order lifecycle events: order_assigned, picked_up,
        /// delivered, cancelled (created with --partitions if missing).
        #[arg(long, default_value = "order-events")]
        orders_topic: String,
        /// Produce no order events; the fixes then carry no order_id (the
        /// drivers still drive the same trips).
        #[arg(long, conflicts_with = "orders_topic")]
        no_orders: bool,
        /// Number of drivers.
        #[arg(long, default_value_t = 1000)]
        drivers: usize,
        /// Fixes per second for the whole fleet, drivers in turn [default: one per driver per second].
        #[arg(long)]
        rate: Option<f64>,
        /// Stop after this many fixes (order events not counted) [default: run until Ctrl-C].
        #[arg(long)]
        count: Option<u64>,
        /// Partitions of the topics when they are created.
        #[arg(long, default_value_t = 4)]
        partitions: i32,
        /// Random seed of the drivers' trips and GPS noise (order ids include it).
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Send the fixes through `fleethost gateway` at this URL
        /// (ws://HOST:PORT/ws/driver), one WebSocket per driver, instead of
        /// producing them to --topic (the gateway's --topic applies). Order
        /// events still go to Kafka.
        #[arg(long, value_name = "URL")]
        gateway: Option<String>,
    },
}

fn main() -> ExitCode {
    // First, before any other thread exists: every thread inherits the
    // blocked SIGINT/SIGTERM, and only the signal thread takes them.
    let signals = match Signals::install() {
        Ok(signals) => signals,
        Err(error) => {
            console::err(&format!("fleethost: cannot set up the signal handling: {error}"));
            console::flush_all(Duration::from_secs(1));
            return ExitCode::FAILURE;
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("info,librdkafka=warn,rdkafka=warn,sqlx::postgres::notice=warn")
            }),
        )
        // Never blocks, never fails: a closed or stalled stderr cannot
        // panic or park the threads that log.
        .with_writer(console::LogWriter)
        .log_internal_errors(false)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            console::err(&format!("fleethost: cannot start the async runtime: {error}"));
            console::flush_all(Duration::from_secs(1));
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(execute(cli.command, &signals));
    // Everything the command waits for has ended; a blocking task left
    // behind (a lag probe of a broker that stopped answering) must not hold
    // the exit up.
    runtime.shutdown_background();
    let code = match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            console::err(&format!("fleethost: {error:#}"));
            ExitCode::FAILURE
        }
    };
    console::flush_all(Duration::from_secs(1));
    code
}

async fn execute(command: Command, signals: &Signals) -> anyhow::Result<()> {
    match command {
        Command::Run { config: path } => {
            let config = Config::load(&path)?;
            let shutdown = signals.graceful(Duration::from_millis(config.shutdown.timeout_ms));
            fleethost::app::run(config, Some(path), shutdown).await?;
            Ok(())
        }
        Command::Reload { admin, plugin } => {
            let report = tokio::task::spawn_blocking(move || admin_client::reload(&admin, &plugin)).await??;
            console::out(&serde_json::to_string_pretty(&report)?);
            match report.error {
                Some(error) => anyhow::bail!("reload of {} refused: {error}", report.plugin),
                None => Ok(()),
            }
        }
        Command::Status { admin } => {
            let (plugins, pipelines) = tokio::task::spawn_blocking(move || {
                anyhow::Ok((admin_client::plugins(&admin)?, admin_client::pipelines(&admin)?))
            })
            .await??;
            for plugin in plugins {
                console::out(&format!(
                    "{}@{}  WIT {}  {}  (reloads: {} activated, {} refused or rolled back)",
                    plugin.name, plugin.version, plugin.wit, plugin.path, plugin.activations, plugin.refusals
                ));
                if let Some(refusal) = plugin.last_refusal {
                    console::out(&format!("    last refused: {refusal}"));
                }
            }
            for pipeline in pipelines {
                let state = if pipeline.waiting_for_backend.is_empty() {
                    "running"
                } else {
                    "waiting for a backend"
                };
                println!(
                    "pipeline {}: {state}  ({} events, {} batches, {} dead letters)",
                    pipeline.name, pipeline.events, pipeline.batches, pipeline.dead_letters
                );
                for wait in pipeline.waiting_for_backend {
                    println!(
                        "    {}/{} waiting {} s: {}",
                        wait.topic, wait.partition, wait.waited_s, wait.reason
                    );
                }
            }
            Ok(())
        }
        Command::Check { config: path } => {
            let config = Config::load(&path)?;
            let runtime = fleethost::runtime::PluginRuntime::new().map_err(|error| anyhow::anyhow!("{error:#}"))?;
            // No producer: `check` does not touch Kafka (plugins' init cannot produce).
            let backends = fleethost::capabilities::Backends::connect(&config, None)?;
            let plugins = fleethost::app::load_plugins(&config, &runtime, &backends).await?;
            console::out(&format!(
                "{}: ok, {} pipeline(s)",
                path.display(),
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
        Command::Tail {
            bootstrap_servers,
            summary,
            topics,
        } => {
            let config = fleethost::tail::TailConfig {
                bootstrap_servers,
                topics,
                summary: summary.map(|seconds| std::time::Duration::from_secs(seconds.max(1))),
            };
            let stop = signals.graceful(UNCONFIGURED_SHUTDOWN_TIMEOUT);
            tokio::task::spawn_blocking(move || fleethost::tail::tail(&config, &stop)).await??;
            Ok(())
        }
        Command::Gateway {
            bootstrap_servers,
            listen,
            topic,
            partitions,
            partitioning,
            max_in_flight,
            status_interval,
            idle_timeout,
        } => {
            let config = fleethost::gateway::GatewayConfig {
                bootstrap_servers,
                listen,
                topic,
                partitions,
                partitioning,
                max_in_flight_per_connection: max_in_flight,
                status_interval: std::time::Duration::from_secs(status_interval.max(1)),
                idle_timeout: (idle_timeout > 0).then(|| std::time::Duration::from_secs(idle_timeout)),
            };
            fleethost::gateway::run(config, signals.graceful(UNCONFIGURED_SHUTDOWN_TIMEOUT)).await?;
            Ok(())
        }
        Command::Track {
            listen,
            redis_url,
            key_prefix,
            buffer,
        } => {
            if fleethost::capabilities::kv_backend::is_memory_url(&redis_url) {
                anyhow::bail!(
                    "--redis-url {redis_url}: the embedded store lives inside one process, so a separate `fleethost track` cannot see it; use `fleethost demo` (it runs the tracking server beside the pipelines) or a real Redis"
                );
            }
            let config = fleethost::tracking::TrackConfig {
                listen,
                source: fleethost::tracking::live_store::LiveSource::Redis(redis_url),
                key_prefix,
                buffer,
            };
            fleethost::tracking::run(config, signals.graceful(UNCONFIGURED_SHUTDOWN_TIMEOUT)).await?;
            Ok(())
        }
        Command::Demo {
            config: path,
            bootstrap_servers,
            redis_url,
            database_url,
            data_dir,
            gateway_listen,
            map_listen,
            drivers,
            rate,
            seed,
            partitions,
            figures_interval,
            shutdown_timeout_ms,
        } => {
            let mut config = Config::load(&path)?;
            if let Some(bootstrap_servers) = bootstrap_servers {
                config.kafka.bootstrap_servers = bootstrap_servers;
            }
            if let Some(timeout_ms) = shutdown_timeout_ms {
                config.shutdown.timeout_ms = timeout_ms;
            }
            let shutdown = signals.graceful(Duration::from_millis(config.shutdown.timeout_ms));
            let seed = seed.unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|elapsed| elapsed.as_secs())
                    .unwrap_or(42)
            });
            let demo = fleethost::demo::DemoConfig {
                config,
                config_path: path,
                redis_url,
                database_url,
                data_dir,
                gateway_listen,
                map_listen,
                drivers,
                rate: rate.unwrap_or(drivers.max(1) as f64),
                seed,
                partitions,
                figures_interval: std::time::Duration::from_secs(figures_interval.max(1)),
            };
            fleethost::demo::run(demo, shutdown).await?;
            Ok(())
        }
        Command::Simulate {
            bootstrap_servers,
            topic,
            orders_topic,
            no_orders,
            drivers,
            rate,
            count,
            partitions,
            seed,
            gateway,
        } => {
            let config = fleethost::simulate::SimulationConfig {
                bootstrap_servers,
                topic,
                orders_topic: (!no_orders).then_some(orders_topic),
                drivers,
                rate: rate.unwrap_or(drivers.max(1) as f64),
                count,
                seed,
                partitions,
                gateway,
            };
            fleethost::simulate::run(config, signals.graceful(UNCONFIGURED_SHUTDOWN_TIMEOUT)).await?;
            Ok(())
        }
    }
}
