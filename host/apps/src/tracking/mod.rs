//! `fleethost track`: customers' live tracking. A customer opens a WebSocket
//! on a driver or an order and receives its position (and, for an order, its
//! ETA) every time it changes, fanned out from Redis pub/sub.
//!
//! The change signal is the plugins' (see the live-location and eta crate
//! docs): live-location publishes each position that moved a driver forward
//! on `{key_prefix}live:driver:{driver_id}` (and, when the fix names an
//! order, on `{key_prefix}live:order:{order_id}`); eta publishes each ETA it
//! publishes on the order's channel.
//!
//! Fan-out: the server holds ONE Redis pub/sub connection. The [`registry`]
//! counts the watchers of each channel: the first one has the channel
//! subscribed on that connection, the last one to leave has it
//! unsubscribed, and a `tokio::sync::broadcast` per channel hands each
//! message to every watcher. A hundred customers watching one driver cost
//! one Redis subscription and one message from Redis per change.
//!
//! Files: [`channels`] (what a customer watches), [`live_keys`] (the
//! channel and key names, as live-location is configured), [`registry`] (reference-counted subscriptions, broadcast per channel),
//! [`subscriber`] (the pub/sub connection: subscribe, forward, reconnect and
//! resubscribe), [`memory_subscriber`] (the same from the embedded store,
//! when the server runs beside the pipelines without Redis), [`live_store`]
//! (the reads: Redis or the embedded store), [`snapshot`] (a driver's
//! current position from its hash),
//! [`session`] (one customer's WebSocket), [`routes`] (HTTP), [`stats`]
//! (`/stats`); the live map: [`live_map`] (`/map`, its page `map.html`, and
//! `/api/map`), [`map_snapshot`] (drivers and ETAs from Redis),
//! [`notification_feed`] (the latest notifications, from the geofence
//! plugin's channel `{key_prefix}live:notifications`, watched permanently);
//! this file wires them and shuts them down.

pub mod channels;
pub mod live_keys;
pub mod live_map;
pub mod live_store;
pub mod map_snapshot;
pub mod memory_subscriber;
pub mod notification_feed;
pub mod registry;
pub mod routes;
pub mod session;
pub mod snapshot;
pub mod stats;
pub mod subscriber;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use fleethost_core::tls::{HttpListener, ServerTls};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::access::Access;
use live_keys::LiveKeys;
use live_store::LiveSource;
use map_snapshot::MapReader;
use notification_feed::NotificationFeed;
use registry::Registry;
use snapshot::PositionReader;
use stats::TrackingStats;
use subscriber::Subscriber;

/// How long shutdown waits for the sessions to send their close frames.
const SESSIONS_GRACE: Duration = Duration::from_secs(5);

/// How to run the tracking server (the `fleethost track` flags).
#[derive(Debug, Clone)]
pub struct TrackConfig {
    /// Address of the HTTP/WebSocket listener.
    pub listen: SocketAddr,
    /// Where the plugins publish and keep positions: a Redis, or (in the
    /// same process) the embedded store.
    pub source: LiveSource,
    /// Where live-location keeps and publishes positions (its `key_prefix`
    /// and `geo_key`).
    pub keys: LiveKeys,
    /// Messages each channel buffers for its slowest watcher before that
    /// watcher starts missing some (and is told so).
    pub buffer: usize,
    /// Who may connect: customers with a token for what they follow and
    /// operators, or anyone (`--no-auth`).
    pub access: Access,
    /// Serve `https://` and `wss://` with this certificate instead of
    /// plain HTTP.
    pub tls: Option<ServerTls>,
}

/// Why the tracking server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum TrackingError {
    /// The Redis URL is malformed.
    #[error("invalid Redis URL `{url}` (--redis-url): {source}")]
    RedisUrl { url: String, source: redis::RedisError },
    /// The listen address cannot be bound.
    #[error("cannot listen on {address}: {source} (is another process using it? choose another with --listen)")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
    /// The HTTP server stopped with an error.
    #[error("the HTTP server on {address} failed: {source}")]
    Serve {
        address: SocketAddr,
        source: std::io::Error,
    },
}

/// What every session shares.
pub struct TrackingShared {
    registry: Arc<Registry>,
    positions: PositionReader,
    keys: LiveKeys,
    stats: Arc<TrackingStats>,
    /// The live map's drivers and ETAs.
    map: MapReader,
    /// The live map's latest notifications.
    notifications: Arc<NotificationFeed>,
    /// Who may connect.
    access: Access,
    /// Cancelled at shutdown: sessions close.
    shutdown: CancellationToken,
    /// The open sessions, so that shutdown can wait for them.
    sessions: TaskTracker,
}

/// Runs the tracking server until `shutdown`: then it stops accepting,
/// closes every customer's WebSocket (1001), drops the Redis connection and
/// returns.
pub async fn run(config: TrackConfig, shutdown: CancellationToken) -> Result<(), TrackingError> {
    let url_error = |source| TrackingError::RedisUrl {
        url: match &config.source {
            LiveSource::Redis(redis) => redis.url.clone(),
            LiveSource::Memory(_) => fleethost_core::capabilities::kv::backend::MEMORY_URL.to_string(),
        },
        source,
    };
    let positions = PositionReader::connect_lazy(&config.source, &config.keys).map_err(url_error)?;
    let map = MapReader::connect_lazy(&config.source, &config.keys).map_err(url_error)?;
    let listener = HttpListener::bind(config.listen, config.tls.clone())
        .await
        .map_err(|source| TrackingError::Listen {
            address: config.listen,
            source,
        })?;
    let address = listener.address();
    let (registry, requests) = Registry::new(config.buffer);
    let stats = Arc::new(TrackingStats::default());
    let stop_subscriber = CancellationToken::new();
    let subscriber = match &config.source {
        LiveSource::Redis(redis) => {
            let client = redis.client().map_err(url_error)?;
            tokio::spawn(
                Subscriber::new(client, registry.clone(), requests, stats.clone()).run(stop_subscriber.clone()),
            )
        }
        LiveSource::Memory(memory) => tokio::spawn(memory_subscriber::follow(
            memory.clone(),
            registry.clone(),
            requests,
            stats.clone(),
            stop_subscriber.clone(),
        )),
    };
    let notifications = Arc::new(NotificationFeed::default());
    let feed = tokio::spawn(notifications.clone().follow(
        registry.clone(),
        config.keys.notifications_channel(),
        stop_subscriber.clone(),
    ));
    let shared = Arc::new(TrackingShared {
        registry,
        positions,
        keys: config.keys.clone(),
        stats,
        map,
        notifications,
        access: config.access.clone(),
        shutdown: shutdown.clone(),
        sessions: TaskTracker::new(),
    });
    if config.access.is_open() {
        tracing::warn!("--no-auth: anyone may follow any driver or order and open the live map");
    }
    tracing::info!(
        %address,
        key_prefix = %config.keys.key_prefix,
        geo_key = %config.keys.geo_key,
        buffer = config.buffer,
        tls = listener.is_tls(),
        "tracking server listening: customers connect to {ws}://{address}/ws/track?driver=ID or ?order=ID; live map at {http}://{address}/map",
        ws = listener.ws_scheme(),
        http = listener.http_scheme(),
    );

    let served = axum::serve(listener, routes::router(shared.clone()))
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .await
        .map_err(|source| TrackingError::Serve { address, source });
    // Also on a server error: close the sessions before leaving.
    shutdown.cancel();
    shared.sessions.close();
    tracing::info!(
        sessions = shared.sessions.len(),
        "tracking server stopping: closing customers' WebSockets"
    );
    if tokio::time::timeout(SESSIONS_GRACE, shared.sessions.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            still_open = shared.sessions.len(),
            "sessions did not close within {SESSIONS_GRACE:?}; stopping anyway"
        );
    }
    stop_subscriber.cancel();
    let _ = feed.await;
    let _ = subscriber.await;
    served?;
    tracing::info!("tracking server stopped");
    Ok(())
}
