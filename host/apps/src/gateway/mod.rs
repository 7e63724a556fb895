//! `fleethost gateway`: the WebSocket endpoint of the drivers' apps, the
//! first hop of the data flow (docs/architecture.md): each text frame is one location
//! fix, validated with the host's own decoder ([`fleethost_event::location::Location`]:
//! one definition of a fix) and produced to Kafka keyed by driver id: exactly
//! as received on a JSON topic, encoded in the topic's Avro or Protobuf
//! format otherwise.
//!
//! Files: [`routes`] (the HTTP routes and WebSocket limits), [`connection`]
//! (one driver app: read, validate, produce, answer; its backpressure),
//! [`partitioning`] (driver or region), [`encoding`] (what a fix is
//! produced as, in the topic's format),
//! [`producing`] (the topic and the producer), [`open_files`] (the
//! descriptor limit), [`stats`] (counters and the status line); this file
//! wires them and shuts them down.

pub mod connection;
pub mod encoding;
pub mod open_files;
pub mod partitioning;
pub mod producing;
pub mod routes;
pub mod stats;

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use fleethost_core::tls::{HttpListener, ServerTls};
use fleethost_event::format::{FormatError, PayloadFormat};
use rdkafka::error::KafkaError;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::access::Access;
pub use partitioning::{Partitioner, Partitioning};
use producing::FixProducer;
use stats::GatewayStats;

/// How long shutdown waits for the connections to settle their in-flight
/// fixes and close: longer than the producer's delivery timeout (30 s), so
/// that every driver app hears about every fix it sent.
const CONNECTIONS_GRACE: Duration = Duration::from_secs(40);
/// How long shutdown waits for the producer to deliver what is still queued.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// How to run the gateway (the `fleethost gateway` flags).
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// How to reach Kafka: brokers, TLS, SASL, properties.
    pub kafka: fleethost_core::config::KafkaConfig,
    /// Address of the HTTP/WebSocket listener.
    pub listen: SocketAddr,
    /// Topic of the fixes.
    pub topic: String,
    /// How the topic's messages are encoded (its `[topics."NAME".format]`
    /// in the host's config): on JSON each frame is produced as received;
    /// on Avro or Protobuf each fix is encoded, so that the host reads the
    /// topic as it expects. Shared, since a format's schemas are compiled
    /// once.
    pub format: Arc<PayloadFormat>,
    /// Partitions of the topic when the gateway creates it.
    pub partitions: i32,
    /// How fixes are spread over the partitions.
    pub partitioning: Partitioning,
    /// The most fixes of one connection awaiting their delivery report;
    /// at the limit the connection stops reading.
    pub max_in_flight_per_connection: usize,
    /// How often the status line is logged.
    pub status_interval: Duration,
    /// A connection whose driver app sends nothing (no frame, not even a
    /// ping) for this long, while none of its fixes awaits Kafka, is
    /// closed: a phone that vanished without closing its socket (radio
    /// gone, NAT entry dropped) would otherwise hold it forever. `None`:
    /// never.
    pub idle_timeout: Option<Duration>,
    /// Who may connect: drivers with a token whose `sub` is their driver id,
    /// or anyone (`--no-auth`).
    pub access: Access,
    /// The most driver connections open at once; one more is answered 503.
    pub max_connections: usize,
    /// Fixes one connection may send per second, on average (bursts up to
    /// [`GatewayConfig::fix_burst`]); beyond it the connection is read more
    /// slowly, nothing is dropped. `None`: no limit.
    pub max_fixes_per_second: Option<NonZeroU32>,
    /// Fixes one connection may send at once above its rate: a phone's
    /// backlog after a tunnel.
    pub fix_burst: NonZeroU32,
    /// Serve `wss://` with this certificate instead of `ws://`.
    pub tls: Option<ServerTls>,
}

/// Why the gateway could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The listen address cannot be bound.
    #[error("cannot listen on {address}: {source} (is another process using it? choose another with --listen)")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
    /// The topic's format can write no fix (e.g. Confluent framing without
    /// `schema_id`): every fix would be refused, so the gateway does not
    /// start.
    #[error(
        "cannot write fixes to `{topic}` in its format: {source} (check `[topics.\"{topic}\".format]` of the config file)"
    )]
    Unwritable { topic: String, source: FormatError },
    /// The fixes topic is missing and cannot be created.
    #[error("cannot create the topic `{topic}`: {source} (is the broker at --bootstrap-servers reachable?)")]
    CreateTopic { topic: String, source: KafkaError },
    /// librdkafka refused the producer's settings.
    #[error("cannot create the Kafka producer: {0}")]
    Producer(KafkaError),
    /// The topic's metadata cannot be read.
    #[error("cannot read the metadata of the topic `{topic}`: {source}")]
    Metadata { topic: String, source: KafkaError },
    /// The broker lists no partitions for the topic.
    #[error("the topic `{topic}` has no partitions in the broker's metadata: check that it exists")]
    NoPartitions { topic: String },
    /// The HTTP server stopped with an error.
    #[error("the HTTP server on {address} failed: {source}")]
    Serve {
        address: SocketAddr,
        source: std::io::Error,
    },
    /// Fixes were still queued when the flush at shutdown gave up.
    #[error("cannot flush the producer at shutdown: {0}; the fixes still queued are lost")]
    Flush(KafkaError),
    /// A blocking task of the gateway panicked or was cancelled.
    #[error("a background task of the gateway failed: {0}")]
    Task(String),
}

/// What every connection shares.
pub struct GatewayShared {
    producer: FixProducer,
    stats: Arc<GatewayStats>,
    max_in_flight: usize,
    /// See [`GatewayConfig::idle_timeout`].
    idle_timeout: Option<Duration>,
    /// Who may connect.
    access: Access,
    /// See [`GatewayConfig::max_connections`].
    max_connections: usize,
    /// Each connection's rate limit, see [`GatewayConfig::max_fixes_per_second`].
    fix_quota: Option<governor::Quota>,
    /// Cancelled at shutdown: connections stop reading and close.
    shutdown: CancellationToken,
    /// The open connections, so that shutdown can wait for them.
    connections: TaskTracker,
}

/// Runs the gateway until `shutdown`: then it stops accepting, lets every
/// connection settle its in-flight fixes and close, flushes the producer and
/// returns the final counters.
pub async fn run(config: GatewayConfig, shutdown: CancellationToken) -> Result<Arc<GatewayStats>, GatewayError> {
    match open_files::raise_to_hard_limit() {
        Ok(limit) => tracing::info!(
            before = limit.before,
            now = limit.after,
            "open-files limit (one per connection)"
        ),
        Err(error) => tracing::warn!(%error, "cannot raise the open-files limit: fewer connections fit"),
    }
    let producer = FixProducer::connect(
        &config.kafka,
        &config.topic,
        config.partitions,
        config.partitioning,
        config.format.clone(),
    )
    .await?;
    let partitioner = producer.partitioner();
    if partitioner.scheme() == Partitioning::Region && partitioner.partitions() < 2 {
        tracing::warn!(
            topic = %config.topic,
            "region partitioning needs at least 2 partitions: every fix goes to partition 0"
        );
    }
    let listener = HttpListener::bind(config.listen, config.tls.clone())
        .await
        .map_err(|source| GatewayError::Listen {
            address: config.listen,
            source,
        })?;
    let address = listener.address();
    let shared = Arc::new(GatewayShared {
        producer: producer.clone(),
        stats: Arc::new(GatewayStats::default()),
        max_in_flight: config.max_in_flight_per_connection.max(1),
        idle_timeout: config.idle_timeout,
        access: config.access.clone(),
        max_connections: config.max_connections.max(1),
        fix_quota: config
            .max_fixes_per_second
            .map(|rate| governor::Quota::per_second(rate).allow_burst(config.fix_burst)),
        shutdown: shutdown.clone(),
        connections: TaskTracker::new(),
    });
    let stats = shared.stats.clone();
    let stop_status = CancellationToken::new();
    let status = tokio::spawn({
        let (stats, stop) = (stats.clone(), stop_status.clone());
        let interval = config.status_interval.max(Duration::from_millis(100));
        async move { stats.report_every(interval, stop).await }
    });
    if config.access.is_open() {
        tracing::warn!("--no-auth: any client may connect and send fixes as any driver");
    }
    tracing::info!(
        %address,
        topic = %config.topic,
        encoding = config.format.encoding().as_str(),
        authenticated = !config.access.is_open(),
        max_connections = shared.max_connections,
        max_fixes_per_second = config.max_fixes_per_second.map_or(0, NonZeroU32::get),
        partitions = partitioner.partitions(),
        partitioning = ?partitioner.scheme(),
        max_in_flight_per_connection = shared.max_in_flight,
        tls = listener.is_tls(),
        "gateway listening: driver apps connect to {}://{address}/ws/driver",
        listener.ws_scheme()
    );

    let served = axum::serve(listener, routes::router(shared.clone()))
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .await
        .map_err(|source| GatewayError::Serve { address, source });
    // Also on a server error: close the connections before flushing.
    shutdown.cancel();
    tracing::info!(
        connections = shared.connections.len(),
        "gateway stopping: no new connections; settling in-flight fixes and closing connections"
    );
    shared.connections.close();
    if tokio::time::timeout(CONNECTIONS_GRACE, shared.connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            still_open = shared.connections.len(),
            "connections did not close within {CONNECTIONS_GRACE:?}; flushing anyway"
        );
    }
    let flushed = producer.flush(FLUSH_TIMEOUT).await;
    stop_status.cancel();
    let _ = status.await;
    stats.log_status(0.0);
    served?;
    flushed?;
    tracing::info!("gateway stopped");
    Ok(stats)
}
