//! `fleethost demo`: the whole system in one process, against a Kafka
//! broker: the drivers' gateway, a simulated fleet driving through it (one
//! WebSocket per driver; their orders go to Kafka), every pipeline of the
//! config, and the tracking server with the live map.
//!
//! One process is what lets the demo run without Redis or PostgreSQL: the
//! pipelines and the tracking server share the embedded store
//! ([`embedded_defaults`] chooses, and says, which stores run), and the
//! history goes to a SQLite file. [`figures`] prints what the plugins
//! produced every few seconds. Each run writes under its own
//! [`namespace`], so that a Redis or PostgreSQL that outlives it never
//! mixes an earlier run's drivers and history into this one's.
//!
//! Shutdown runs in the order that loses nothing: the fleet stops, the
//! gateway settles and flushes what it accepted, the pipelines finish their
//! batches and commit, then the tracking server closes its WebSockets.

pub mod credentials;
pub mod embedded_defaults;
pub mod figures;
pub mod namespace;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::gateway::{GatewayConfig, Partitioning};
use crate::simulate::SimulationConfig;
use crate::tracking::TrackConfig;
use crate::tracking::live_keys::{self, LiveKeys};
use crate::tracking::live_store::LiveSource;
use credentials::DemoCredentials;
use embedded_defaults::{ChoiceError, choose_database, choose_kv};
use fleethost_core::app::RunOptions;
use fleethost_core::capabilities::kv::backend::MEMORY_URL;
use fleethost_core::config::Config;
use namespace::{Namespace, new_run_id};

/// How long the demo waits for its gateway to accept connections.
const GATEWAY_START_TIMEOUT: Duration = Duration::from_secs(10);

/// How to run the demo (the `fleethost demo` flags over the config).
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// The host's config: pipelines and plugins; its Kafka, Redis and
    /// database settings unless overridden below.
    pub config: Config,
    /// Where the config came from (plugin files are watched for reloads).
    pub config_path: PathBuf,
    /// `--redis-url`: used as given; otherwise `redis.url` or the embedded store.
    pub redis_url: Option<String>,
    /// `--database-url`: used as given; otherwise `database.url` or SQLite.
    pub database_url: Option<String>,
    /// Where the embedded SQLite file goes.
    pub data_dir: PathBuf,
    /// The drivers' gateway address.
    pub gateway_listen: SocketAddr,
    /// The tracking server's address (live map at `/map`).
    pub map_listen: SocketAddr,
    /// Simulated drivers, each a WebSocket to the gateway.
    pub drivers: usize,
    /// Fixes per second for the whole fleet.
    pub rate: f64,
    /// The simulation's random seed (order ids include it).
    pub seed: u64,
    /// Partitions of the topics the demo creates.
    pub partitions: i32,
    /// Seconds between the demo's figure lines.
    pub figures_interval: Duration,
}

/// Why the demo could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A store given on the command line does not answer.
    #[error(transparent)]
    Choice(#[from] ChoiceError),
    /// The config has no pipeline consuming location fixes.
    #[error("{0}: no pipeline consumes a topic of location fixes; the demo's fleet has nowhere to go")]
    NoFixesTopic(String),
    /// A topic's `format` in the config cannot be loaded (a schema file
    /// changed since the config was read).
    #[error(transparent)]
    TopicFormat(#[from] fleethost_core::config::ConfigError),
    /// The data folder cannot be created.
    #[error("cannot create the demo's data folder {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    /// One part of the demo failed; the others were stopped.
    #[error("{part}: {reason}")]
    Part { part: &'static str, reason: String },
}

/// Runs the demo until `shutdown`, then stops its parts in order.
pub async fn run(demo: DemoConfig, shutdown: CancellationToken) -> Result<(), DemoError> {
    let mut config = demo.config.clone();
    let run_id = new_run_id();
    let namespace = Namespace::apply(&mut config, &run_id);
    // A change to the config file reaches the plugins in this namespace too.
    let rewrite: fleethost_core::runtime::ConfigRewrite = std::sync::Arc::new(move |config: &mut Config| {
        Namespace::apply(config, &run_id);
    });
    let topic = config
        .pipelines
        .iter()
        .find_map(|pipeline| pipeline.topics.first().cloned())
        .ok_or_else(|| DemoError::NoFixesTopic(demo.config_path.display().to_string()))?;
    let orders_topic = config
        .pipelines
        .iter()
        .find_map(|pipeline| pipeline.order_topics.first().cloned());
    // The gateway and the fleet write the topics as the pipelines read them.
    let fixes_format = std::sync::Arc::new(config.payload_format(&topic)?);
    let orders_format = std::sync::Arc::new(match &orders_topic {
        Some(orders_topic) => config.payload_format(orders_topic)?,
        None => fleethost_core::config::PayloadFormat::json(),
    });
    std::fs::create_dir_all(&demo.data_dir).map_err(|source| DemoError::DataDir {
        path: demo.data_dir.clone(),
        source,
    })?;
    let credentials = DemoCredentials::create(&mut config, &demo.data_dir).map_err(|source| DemoError::DataDir {
        path: demo.data_dir.clone(),
        source,
    })?;

    let kv = choose_kv(demo.redis_url.as_deref(), &config.redis.url).await?;
    let database = choose_database(
        demo.database_url.as_deref(),
        config.database.url.as_deref(),
        &demo.data_dir,
    )
    .await?;
    say(&kv.note);
    say(&database.note);
    say(&namespace.describe());
    if matches!(kv.source, LiveSource::Memory(_)) {
        config.redis.url = MEMORY_URL.to_string();
    }
    config.database.url = Some(database.url.clone());
    let kafka = config.kafka.clone();
    // The map and the figures read where live-location writes in this run's
    // namespace; a config without it still has the namespace's prefix.
    let live_keys = LiveKeys::from_config(&config, live_keys::DEFAULT_PLUGIN)
        .unwrap_or_else(|_| LiveKeys::with_prefix(namespace.key_prefix.clone()));

    let stop_tracking = CancellationToken::new();
    let tracking = spawn_part(
        "tracking server",
        crate::tracking::run(
            TrackConfig {
                listen: demo.map_listen,
                source: kv.source.clone(),
                keys: live_keys.clone(),
                buffer: 64,
                access: credentials.access(),
                // The demo serves loopback only.
                tls: None,
            },
            stop_tracking.clone(),
        ),
    );
    let stop_host = CancellationToken::new();
    let host = spawn_part(
        "fleethost pipelines",
        fleethost_core::app::run(
            config.clone(),
            RunOptions {
                config_path: Some(demo.config_path.clone()),
                kv: Some(kv.backend.clone()),
                rewrite: Some(rewrite),
                native_plugins: None,
            },
            stop_host.clone(),
        ),
    );
    let stop_gateway = CancellationToken::new();
    let gateway = spawn_part(
        "gateway",
        crate::gateway::run(
            GatewayConfig {
                kafka: kafka.clone(),
                listen: demo.gateway_listen,
                topic: topic.clone(),
                format: fixes_format.clone(),
                partitions: demo.partitions,
                partitioning: Partitioning::Driver,
                max_in_flight_per_connection: 1000,
                status_interval: Duration::from_secs(10),
                idle_timeout: Some(Duration::from_secs(120)),
                access: credentials.access(),
                max_connections: demo.drivers.max(1) + 1000,
                // The demo's own fleet sends at --rate; no per-driver limit.
                max_fixes_per_second: None,
                fix_burst: std::num::NonZeroU32::MIN,
                tls: None,
            },
            stop_gateway.clone(),
        ),
    );
    let stop_fleet = CancellationToken::new();
    let mut parts = Parts {
        fleet: None,
        gateway: Some(gateway),
        host: Some(host),
        tracking: Some(tracking),
    };
    let started = async {
        wait_for_listener(demo.gateway_listen).await?;
        // The demo's own throwaway tokens, printed so that its user can get in.
        say(&format!(
            "live map: http://{}/map?access_token={}",
            demo.map_listen,
            credentials.operator_token()
        ));
        say(&format!(
            "a customer following driver-000000: ws://{}/ws/track?driver=driver-000000&access_token={}   drivers' gateway: ws://{}/ws/driver (a driver token each)",
            demo.map_listen,
            credentials.customer_token("driver-000000"),
            demo.gateway_listen
        ));
        if let (Some(admin), Some(token_file)) = (config.admin.listen, &credentials.admin_token_file) {
            say(&format!(
                "admin: fleethost status --admin {admin} --token-file {}",
                token_file.display()
            ));
        }
        say(&format!(
            "simulating {} drivers at {} fixes/s through the gateway into {topic}{}; Ctrl-C to stop",
            demo.drivers,
            demo.rate,
            orders_topic
                .as_ref()
                .map(|orders| format!(", their orders into {orders}"))
                .unwrap_or_default()
        ));
        Ok::<(), DemoError>(())
    };
    if let Err(error) = first_of(started, &mut parts, &shutdown).await {
        // The error that stopped the start is the one to report.
        let _ = parts
            .stop_all(&stop_fleet, &stop_gateway, &stop_host, &stop_tracking)
            .await;
        return Err(error);
    }
    parts.fleet = Some(spawn_part(
        "simulated fleet",
        crate::simulate::run(
            SimulationConfig {
                kafka,
                topic: topic.clone(),
                fixes_format,
                orders_topic,
                orders_format,
                drivers: demo.drivers,
                rate: demo.rate,
                count: None,
                seed: demo.seed,
                partitions: demo.partitions,
                gateway: Some(format!("ws://{}/ws/driver", demo.gateway_listen)),
                gateway_ca_file: None,
                driver_tokens: Some(credentials.signer()),
            },
            stop_fleet.clone(),
        ),
    ));
    let mut tables: Vec<String> = config
        .plugins
        .values()
        .flat_map(|plugin| plugin.grants.sql_write.iter().cloned())
        .collect();
    tables.sort();
    tables.dedup();
    let reporting = figures::report(
        kv.source.clone(),
        live_keys,
        database.url.clone(),
        tables,
        demo.figures_interval,
        shutdown.clone(),
    );
    let outcome = first_of(reporting, &mut parts, &shutdown).await;
    if outcome.is_ok() {
        say("stopping: the fleet, then the gateway (flushes), then the pipelines (commit), then the tracking server");
    }
    let stopped = parts
        .stop_all(&stop_fleet, &stop_gateway, &stop_host, &stop_tracking)
        .await;
    outcome.and(stopped)
}

/// One line of the demo's own output, on stdout; never waits for its
/// reader, nor fails when it is gone (`fleethost demo | head -1`).
fn say(line: &str) {
    fleethost_core::console::out(&format!("[demo] {line}"));
}

type Part = JoinHandle<Result<(), DemoError>>;

/// Runs one part of the demo as a task whose error names the part.
fn spawn_part<T, E>(part: &'static str, future: impl Future<Output = Result<T, E>> + Send + 'static) -> Part
where
    T: Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    tokio::spawn(async move {
        future.await.map(drop).map_err(|error| DemoError::Part {
            part,
            reason: error.to_string(),
        })
    })
}

/// The running parts, each taken when it has ended.
struct Parts {
    fleet: Option<Part>,
    gateway: Option<Part>,
    host: Option<Part>,
    tracking: Option<Part>,
}

impl Parts {
    /// Stops each part in the order that loses nothing; the first error.
    async fn stop_all(
        &mut self,
        fleet: &CancellationToken,
        gateway: &CancellationToken,
        host: &CancellationToken,
        tracking: &CancellationToken,
    ) -> Result<(), DemoError> {
        let mut outcome = Ok(());
        // What the shutdown report names if a part holds the shutdown up
        // (the pipelines report their own steps).
        for (part, token, report) in [
            (
                &mut self.fleet,
                fleet,
                Some(("simulated fleet", "closing its WebSockets")),
            ),
            (
                &mut self.gateway,
                gateway,
                Some(("gateway", "settling its connections and flushing")),
            ),
            (&mut self.host, host, None),
            (
                &mut self.tracking,
                tracking,
                Some(("tracking server", "closing its WebSockets")),
            ),
        ] {
            token.cancel();
            let _progress = report.map(|(name, doing)| fleethost_core::shutdown::progress().start(name, doing));
            if let Some(task) = part.take() {
                let ended = task.await.unwrap_or_else(|error| {
                    Err(DemoError::Part {
                        part: "task",
                        reason: format!("panicked: {error}"),
                    })
                });
                if outcome.is_ok() {
                    outcome = ended;
                }
            }
        }
        outcome
    }
}

/// Runs `work` until it ends, `shutdown` is cancelled (Ok), or a part ends
/// on its own: a part's end is that part's error, or, when it ended
/// cleanly, an error saying so (nothing in the demo ends by itself).
async fn first_of(
    work: impl Future<Output = Result<(), DemoError>>,
    parts: &mut Parts,
    shutdown: &CancellationToken,
) -> Result<(), DemoError> {
    let ended = async {
        loop {
            for (name, slot) in [
                ("simulated fleet", &mut parts.fleet),
                ("gateway", &mut parts.gateway),
                ("fleethost pipelines", &mut parts.host),
                ("tracking server", &mut parts.tracking),
            ] {
                if slot.as_ref().is_some_and(JoinHandle::is_finished) {
                    let task = slot.take().expect("checked above");
                    return match task.await {
                        Ok(Err(error)) => error,
                        Ok(Ok(())) => DemoError::Part {
                            part: name,
                            reason: "stopped on its own".to_string(),
                        },
                        Err(error) => DemoError::Part {
                            part: name,
                            reason: format!("panicked: {error}"),
                        },
                    };
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    tokio::select! {
        result = work => result,
        _ = shutdown.cancelled() => Ok(()),
        error = ended => Err(error),
    }
}

/// Waits until something accepts TCP connections at `address`.
async fn wait_for_listener(address: SocketAddr) -> Result<(), DemoError> {
    let deadline = tokio::time::Instant::now() + GATEWAY_START_TIMEOUT;
    loop {
        if tokio::net::TcpStream::connect(address).await.is_ok() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(DemoError::Part {
                part: "gateway",
                reason: format!("not listening on {address} after {GATEWAY_START_TIMEOUT:?}"),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
