//! The one Redis pub/sub connection of the tracking server.
//!
//! A single task owns it: it subscribes and unsubscribes channels as the
//! [`Registry`] asks (first watcher in, last watcher out), and hands every
//! message that arrives to the registry, which fans it out. When the
//! connection fails (Redis restarted, network cut, a ping unanswered) the
//! task reconnects with exponential backoff and resubscribes every channel
//! still watched; requests made meanwhile are applied to the set it will
//! resubscribe. Messages published while the connection was down are lost
//! (pub/sub keeps nothing); the next change of a position is published again.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::StreamExt;
use redis::aio::{PubSubSink, PubSubStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::registry::{Registry, SubscriptionRequest};
use super::stats::TrackingStats;

/// The first pause before reconnecting, doubled after each failure.
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// The longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long connecting, and each subscribe, unsubscribe or ping, may take
/// before the connection is given up as broken.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How often an idle connection is pinged, so that a silently dead one is
/// noticed (a subscribed connection otherwise only ever reads).
const PING_INTERVAL: Duration = Duration::from_secs(10);
/// Channels per SUBSCRIBE when resubscribing after a reconnect.
const RESUBSCRIBE_CHUNK: usize = 500;

/// Why a connection ended.
enum Ended {
    /// Shutdown, or the registry is gone: stop.
    Stop,
    /// The connection failed: reconnect.
    Lost(String),
}

/// The Redis pub/sub connection task.
pub struct Subscriber {
    client: redis::Client,
    /// Where the client connects, for the logs (the URL without credentials).
    address: String,
    registry: Arc<Registry>,
    requests: mpsc::UnboundedReceiver<SubscriptionRequest>,
    stats: Arc<TrackingStats>,
    /// Every channel that has watchers, with the generation of its latest
    /// subscribe request: what a new connection subscribes.
    wanted: BTreeMap<String, u64>,
}

impl Subscriber {
    /// The task for `client`, taking `registry`'s requests.
    pub fn new(
        client: redis::Client,
        registry: Arc<Registry>,
        requests: mpsc::UnboundedReceiver<SubscriptionRequest>,
        stats: Arc<TrackingStats>,
    ) -> Self {
        let info = client.get_connection_info();
        let address = info.addr().to_string();
        Self {
            client,
            address,
            registry,
            requests,
            stats,
            wanted: BTreeMap::new(),
        }
    }

    /// Keeps a pub/sub connection up until `shutdown`.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut backoff = MIN_BACKOFF;
        let mut connections = 0u64;
        loop {
            match tokio::time::timeout(REQUEST_TIMEOUT, self.client.get_async_pubsub()).await {
                Ok(Ok(pubsub)) => {
                    connections += 1;
                    if connections > 1 {
                        self.stats.redis_reconnects.fetch_add(1, Ordering::Relaxed);
                    }
                    backoff = MIN_BACKOFF;
                    self.stats.redis_connected.store(true, Ordering::Relaxed);
                    let (sink, stream) = pubsub.split();
                    let ended = self.serve(sink, stream, &shutdown).await;
                    self.stats.redis_connected.store(false, Ordering::Relaxed);
                    self.stats.redis_subscriptions.store(0, Ordering::Relaxed);
                    self.registry.unconfirm_all();
                    match ended {
                        Ended::Stop => return,
                        Ended::Lost(reason) => tracing::warn!(
                            redis = %self.address,
                            channels = self.wanted.len(),
                            "lost the Redis pub/sub connection ({reason}); reconnecting, then resubscribing every watched channel"
                        ),
                    }
                }
                Ok(Err(error)) => tracing::warn!(
                    redis = %self.address,
                    %error,
                    retry_in = ?backoff,
                    "cannot open the Redis pub/sub connection; customers get no updates until it is up"
                ),
                Err(_) => tracing::warn!(
                    redis = %self.address,
                    retry_in = ?backoff,
                    "opening the Redis pub/sub connection timed out after {REQUEST_TIMEOUT:?}"
                ),
            }
            if !self.pause(backoff, &shutdown).await {
                return;
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Waits `pause` while keeping the wanted set up to date; false when it
    /// is time to stop.
    async fn pause(&mut self, pause: Duration, shutdown: &CancellationToken) -> bool {
        let until = tokio::time::Instant::now() + pause;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return false,
                _ = tokio::time::sleep_until(until) => return true,
                request = self.requests.recv() => match request {
                    Some(request) => self.note(&request),
                    None => return false,
                },
            }
        }
    }

    /// Records a request in the wanted set.
    fn note(&mut self, request: &SubscriptionRequest) {
        match request {
            SubscriptionRequest::Subscribe { channel, generation } => {
                self.wanted.insert(channel.clone(), *generation);
            }
            SubscriptionRequest::Unsubscribe { channel } => {
                self.wanted.remove(channel);
            }
        }
    }

    /// Serves one connection: resubscribes what is wanted, then follows the
    /// registry's requests and forwards messages until the connection fails.
    async fn serve(&mut self, mut sink: PubSubSink, mut stream: PubSubStream, shutdown: &CancellationToken) -> Ended {
        while let Ok(request) = self.requests.try_recv() {
            self.note(&request);
        }
        let wanted: Vec<(String, u64)> = self
            .wanted
            .iter()
            .map(|(channel, generation)| (channel.clone(), *generation))
            .collect();
        for chunk in wanted.chunks(RESUBSCRIBE_CHUNK) {
            let channels: Vec<&str> = chunk.iter().map(|(channel, _)| channel.as_str()).collect();
            if let Err(reason) = within_timeout("SUBSCRIBE", sink.subscribe(&channels)).await {
                return Ended::Lost(reason);
            }
            for (channel, generation) in chunk {
                self.registry.confirm(channel, *generation);
            }
        }
        self.stats
            .redis_subscriptions
            .store(self.wanted.len(), Ordering::Relaxed);
        if !wanted.is_empty() {
            tracing::info!(redis = %self.address, channels = wanted.len(), "resubscribed every watched channel");
        }
        let mut ping = tokio::time::interval(PING_INTERVAL);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ping.tick().await;
        loop {
            // Requests first: they are rare, and a steady flood of messages
            // must not keep a new watcher's channel from being subscribed.
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return Ended::Stop,
                request = self.requests.recv() => {
                    let Some(request) = request else {
                        return Ended::Stop;
                    };
                    if let Err(reason) = self.apply(&mut sink, request).await {
                        return Ended::Lost(reason);
                    }
                }
                _ = ping.tick() => {
                    if let Err(reason) = within_timeout("PING", sink.ping::<redis::Value>()).await {
                        return Ended::Lost(reason);
                    }
                }
                message = stream.next() => match message {
                    Some(message) => self.forward(&message),
                    None => return Ended::Lost("the connection closed".to_string()),
                },
            }
        }
    }

    /// Subscribes or unsubscribes one channel on the live connection.
    async fn apply(&mut self, sink: &mut PubSubSink, request: SubscriptionRequest) -> Result<(), String> {
        self.note(&request);
        match request {
            SubscriptionRequest::Subscribe { channel, generation } => {
                within_timeout("SUBSCRIBE", sink.subscribe(&channel)).await?;
                self.registry.confirm(&channel, generation);
            }
            SubscriptionRequest::Unsubscribe { channel } => {
                within_timeout("UNSUBSCRIBE", sink.unsubscribe(&channel)).await?;
            }
        }
        self.stats
            .redis_subscriptions
            .store(self.wanted.len(), Ordering::Relaxed);
        Ok(())
    }

    /// Hands one message to the registry. Channels and messages are text
    /// (the plugins publish JSON); anything else is dropped, as a WebSocket
    /// text frame cannot carry it.
    fn forward(&self, message: &redis::Msg) {
        self.stats.messages_received.fetch_add(1, Ordering::Relaxed);
        let channel = message.get_channel_name();
        match std::str::from_utf8(message.get_payload_bytes()) {
            Ok(text) => {
                self.registry.deliver(channel, text.into());
            }
            Err(_) => tracing::debug!(channel, "dropped a message that is not UTF-8 text"),
        }
    }
}

/// `request`'s result, or why it failed (an error, or no answer within
/// [`REQUEST_TIMEOUT`]), naming the command.
async fn within_timeout<T>(command: &str, request: impl Future<Output = redis::RedisResult<T>>) -> Result<T, String> {
    match tokio::time::timeout(REQUEST_TIMEOUT, request).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(format!("{command} failed: {error}")),
        Err(_) => Err(format!("{command} got no answer within {REQUEST_TIMEOUT:?}")),
    }
}
