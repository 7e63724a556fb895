//! The embedded store's counterpart of [`super::subscriber`]: when the
//! tracking server runs in the same process as the pipelines without Redis
//! (`fleethost demo`), it follows the store's publications directly.
//!
//! Every publication of the process arrives here; the [`Registry`] hands
//! it to the channel's watchers, and drops it when the channel has none.
//! Subscribing is immediate (there is no connection to ask), so a request
//! is confirmed as soon as it arrives.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::registry::{Registry, SubscriptionRequest};
use super::stats::TrackingStats;
use fleethost_core::capabilities::kv::memory::MemoryKv;

/// Forwards the store's publications to the registry until `shutdown`.
pub async fn follow(
    store: MemoryKv,
    registry: Arc<Registry>,
    mut requests: mpsc::UnboundedReceiver<SubscriptionRequest>,
    stats: Arc<TrackingStats>,
    shutdown: CancellationToken,
) {
    let mut published = store.subscribe();
    let mut subscribed = 0usize;
    stats.redis_connected.store(true, Ordering::Relaxed);
    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            request = requests.recv() => match request {
                Some(SubscriptionRequest::Subscribe { channel, generation }) => {
                    subscribed += 1;
                    registry.confirm(&channel, generation);
                }
                Some(SubscriptionRequest::Unsubscribe { .. }) => subscribed = subscribed.saturating_sub(1),
                None => break,
            },
            message = published.recv() => match message {
                Ok(message) => {
                    stats.messages_received.fetch_add(1, Ordering::Relaxed);
                    registry.deliver(&message.channel, (&*message.message).into());
                }
                Err(RecvError::Lagged(missed)) => tracing::warn!(
                    missed,
                    "the tracking server fell behind the embedded store's publications; customers missed {missed} updates"
                ),
                Err(RecvError::Closed) => break,
            },
        }
        stats.redis_subscriptions.store(subscribed, Ordering::Relaxed);
    }
    stats.redis_connected.store(false, Ordering::Relaxed);
}
