//! The subscription registry: one Redis subscription per channel however
//! many customers watch it.
//!
//! Each watched channel has a reference count (its watchers), a
//! `tokio::sync::broadcast` sender that fans its messages out to them, and a
//! flag saying whether Redis confirmed the subscription. The first watcher of
//! a channel asks the Redis connection task ([`super::subscriber`]) to
//! subscribe; the last one to leave (its [`Watcher`] dropped) asks it to
//! unsubscribe. The requests go through one ordered queue, sent while the
//! registry's lock is held, so the task sees a channel's subscribe and
//! unsubscribe in the order its count crossed zero.
//!
//! The server's own permanent watchers (the live map's notification feed,
//! [`Registry::watch_internal`]) go through the same path, so their channels
//! are resubscribed after a Redis restart like any other, but they are not
//! customers: the channel and watcher totals leave them out.
//!
//! A broadcast send never waits for a receiver: a customer that falls more
//! than the buffer behind loses the oldest messages (its receiver reports how
//! many) instead of slowing the others down.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use tokio::sync::{broadcast, mpsc, watch};

/// A message of a channel, as fanned out: text, cheap to clone for every
/// watcher (reference counted).
pub type Payload = Utf8Bytes;

/// A request for the Redis connection task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionRequest {
    /// The channel got its first watcher: subscribe it. `generation` tells
    /// this life of the channel's entry from earlier ones (see
    /// [`Registry::confirm`]).
    Subscribe { channel: String, generation: u64 },
    /// The channel's last watcher left: unsubscribe it.
    Unsubscribe { channel: String },
}

/// One watched channel.
struct Entry {
    sender: broadcast::Sender<Payload>,
    watchers: usize,
    generation: u64,
    /// Whether Redis confirmed the subscription of this generation (and the
    /// connection holding it is up).
    subscribed: watch::Sender<bool>,
    /// Watched by the server itself, not by customers: left out of the totals.
    internal: bool,
}

/// The watched channels; shared by the WebSocket sessions, the Redis
/// connection task and `/stats`.
pub struct Registry {
    channels: Mutex<HashMap<String, Entry>>,
    requests: mpsc::UnboundedSender<SubscriptionRequest>,
    /// Messages a channel buffers for its slowest watcher.
    capacity: usize,
    /// The sum of the channels' watchers.
    watchers: AtomicUsize,
    /// Numbers the channels' entries, so that a late confirmation of an
    /// entry that is gone does not mark its successor subscribed.
    next_generation: AtomicU64,
}

/// What `/stats` shows of one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelState {
    /// Customers watching the channel.
    pub watchers: usize,
    /// Whether Redis confirmed its subscription on the live connection.
    pub subscribed: bool,
}

impl Registry {
    /// An empty registry whose channels buffer `capacity` messages (at least
    /// 1), and the receiving end of its subscription requests, for the Redis
    /// connection task.
    pub fn new(capacity: usize) -> (Arc<Self>, mpsc::UnboundedReceiver<SubscriptionRequest>) {
        let (requests, receiver) = mpsc::unbounded_channel();
        let registry = Self {
            channels: Mutex::new(HashMap::new()),
            requests,
            capacity: capacity.max(1),
            watchers: AtomicUsize::new(0),
            next_generation: AtomicU64::new(1),
        };
        (Arc::new(registry), receiver)
    }

    /// Starts watching `channel`: its messages from now on, in order. The
    /// first watcher of a channel has it subscribed on Redis.
    pub fn watch(self: &Arc<Self>, channel: &str) -> Watcher {
        self.watch_as(channel, false)
    }

    /// Starts a watch of the server's own on `channel` (the live map's
    /// feed): subscribed and resubscribed like a customer's, but left out of
    /// [`Self::channel_count`] and [`Self::watcher_count`]. Meant for a
    /// channel no customer watches.
    pub fn watch_internal(self: &Arc<Self>, channel: &str) -> Watcher {
        self.watch_as(channel, true)
    }

    fn watch_as(self: &Arc<Self>, channel: &str, internal: bool) -> Watcher {
        let mut channels = self.lock();
        let entry = channels.entry(channel.to_string()).or_insert_with(|| {
            let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
            // Unbounded and never closed while the registry lives: only a
            // stopped connection task drops the receiver, and then there is
            // nothing left to subscribe on.
            let _ = self.requests.send(SubscriptionRequest::Subscribe {
                channel: channel.to_string(),
                generation,
            });
            Entry {
                sender: broadcast::channel(self.capacity).0,
                watchers: 0,
                generation,
                subscribed: watch::channel(false).0,
                internal,
            }
        });
        entry.watchers += 1;
        if !internal {
            self.watchers.fetch_add(1, Ordering::Relaxed);
        }
        Watcher {
            internal,
            receiver: entry.sender.subscribe(),
            subscribed: entry.subscribed.subscribe(),
            channel: channel.to_string(),
            registry: self.clone(),
        }
    }

    /// One watcher of `channel` left; the last one has it unsubscribed.
    fn leave(&self, channel: &str, internal: bool) {
        let mut channels = self.lock();
        let Some(entry) = channels.get_mut(channel) else {
            return;
        };
        entry.watchers = entry.watchers.saturating_sub(1);
        if !internal {
            self.watchers.fetch_sub(1, Ordering::Relaxed);
        }
        if entry.watchers == 0 {
            channels.remove(channel);
            let _ = self.requests.send(SubscriptionRequest::Unsubscribe {
                channel: channel.to_string(),
            });
        }
    }

    /// Hands a message that arrived on `channel` to its watchers; the number
    /// of watchers it reached (0 when nobody watches the channel any more).
    pub fn deliver(&self, channel: &str, payload: Payload) -> usize {
        let channels = self.lock();
        channels
            .get(channel)
            .and_then(|entry| entry.sender.send(payload).ok())
            .unwrap_or(0)
    }

    /// Redis confirmed the subscription asked for by the request of
    /// `generation`; ignored when the channel's entry has been replaced since
    /// (a newer request for it is then queued and will confirm it).
    pub fn confirm(&self, channel: &str, generation: u64) {
        if let Some(entry) = self.lock().get(channel).filter(|entry| entry.generation == generation) {
            entry.subscribed.send_replace(true);
        }
    }

    /// The Redis connection was lost: no channel is subscribed until the
    /// connection task has resubscribed it.
    pub fn unconfirm_all(&self) {
        for entry in self.lock().values() {
            entry.subscribed.send_replace(false);
        }
    }

    /// The number of channels customers watch.
    pub fn channel_count(&self) -> usize {
        self.lock().values().filter(|entry| !entry.internal).count()
    }

    /// The number of channels only the server itself watches.
    pub fn internal_channel_count(&self) -> usize {
        self.lock().values().filter(|entry| entry.internal).count()
    }

    /// The number of watchers over all channels.
    pub fn watcher_count(&self) -> usize {
        self.watchers.load(Ordering::Relaxed)
    }

    /// The state of one channel, `None` when nobody watches it.
    pub fn channel_state(&self, channel: &str) -> Option<ChannelState> {
        self.lock().get(channel).map(|entry| ChannelState {
            watchers: entry.watchers,
            subscribed: *entry.subscribed.borrow(),
        })
    }

    /// The map, also after a panic elsewhere while it was held: every
    /// change to it is a single step, so it is never left half-updated.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One customer's hold on a channel: its messages, and whether Redis has
/// the subscription. Dropping it leaves the channel.
pub struct Watcher {
    receiver: broadcast::Receiver<Payload>,
    subscribed: watch::Receiver<bool>,
    channel: String,
    registry: Arc<Registry>,
    internal: bool,
}

impl Watcher {
    /// The next message of the channel, or how many this watcher missed by
    /// falling behind (`RecvError::Lagged`); it then continues with the
    /// oldest message still buffered.
    pub async fn recv(&mut self) -> Result<Payload, broadcast::error::RecvError> {
        self.receiver.recv().await
    }

    /// Waits until Redis confirmed the channel's subscription, at most
    /// `timeout`; whether it did. A session reads the current position only
    /// after that, so that no change falls between the read and the first
    /// message.
    pub async fn wait_subscribed(&mut self, timeout: Duration) -> bool {
        tokio::time::timeout(timeout, self.subscribed.wait_for(|subscribed| *subscribed))
            .await
            .is_ok_and(|result| result.is_ok())
    }

    /// The channel watched.
    pub fn channel(&self) -> &str {
        &self.channel
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.registry.leave(&self.channel, self.internal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use broadcast::error::RecvError;

    fn requests(receiver: &mut mpsc::UnboundedReceiver<SubscriptionRequest>) -> Vec<SubscriptionRequest> {
        std::iter::from_fn(|| receiver.try_recv().ok()).collect()
    }

    fn subscribe(channel: &str, generation: u64) -> SubscriptionRequest {
        SubscriptionRequest::Subscribe {
            channel: channel.into(),
            generation,
        }
    }

    fn unsubscribe(channel: &str) -> SubscriptionRequest {
        SubscriptionRequest::Unsubscribe {
            channel: channel.into(),
        }
    }

    #[test]
    fn many_watchers_cost_one_subscription_until_the_last_leaves() {
        let (registry, mut queue) = Registry::new(8);
        let watchers: Vec<Watcher> = (0..100).map(|_| registry.watch("live:driver:d1")).collect();
        assert_eq!(requests(&mut queue), [subscribe("live:driver:d1", 1)]);
        assert_eq!((registry.channel_count(), registry.watcher_count()), (1, 100));
        let mut watchers = watchers.into_iter();
        let last = watchers.next().expect("a watcher");
        drop(watchers);
        assert!(requests(&mut queue).is_empty(), "99 left, one still watches");
        assert_eq!(
            registry.channel_state("live:driver:d1"),
            Some(ChannelState {
                watchers: 1,
                subscribed: false
            })
        );
        drop(last);
        assert_eq!(requests(&mut queue), [unsubscribe("live:driver:d1")]);
        assert_eq!((registry.channel_count(), registry.watcher_count()), (0, 0));
        assert_eq!(registry.channel_state("live:driver:d1"), None);
    }

    #[test]
    fn a_channel_watched_again_is_subscribed_again_in_order() {
        let (registry, mut queue) = Registry::new(8);
        drop(registry.watch("a"));
        let again = registry.watch("a");
        let other = registry.watch("b");
        assert_eq!(
            requests(&mut queue),
            [
                subscribe("a", 1),
                unsubscribe("a"),
                subscribe("a", 2),
                subscribe("b", 3)
            ]
        );
        drop((again, other));
        assert_eq!(requests(&mut queue), [unsubscribe("a"), unsubscribe("b")]);
    }

    #[tokio::test]
    async fn messages_reach_every_watcher_of_their_channel_only() {
        let (registry, _queue) = Registry::new(8);
        let mut first = registry.watch("a");
        let mut second = registry.watch("a");
        let mut elsewhere = registry.watch("b");
        assert_eq!(registry.deliver("a", "1".into()), 2);
        assert_eq!(registry.deliver("a", "2".into()), 2);
        assert_eq!(registry.deliver("nobody", "x".into()), 0);
        for watcher in [&mut first, &mut second] {
            assert_eq!(watcher.recv().await.expect("message"), "1");
            assert_eq!(watcher.recv().await.expect("message"), "2");
        }
        assert_eq!(registry.deliver("b", "3".into()), 1);
        assert_eq!(elsewhere.recv().await.expect("message"), "3");
        assert_eq!(elsewhere.channel(), "b");
    }

    #[tokio::test]
    async fn a_slow_watcher_learns_how_many_it_missed_and_goes_on() {
        let (registry, _queue) = Registry::new(2);
        let mut slow = registry.watch("a");
        let mut fast = registry.watch("a");
        for index in 0..5 {
            registry.deliver("a", index.to_string().into());
            assert_eq!(fast.recv().await.expect("keeps up"), index.to_string().as_str());
        }
        assert!(matches!(slow.recv().await, Err(RecvError::Lagged(3))));
        assert_eq!(slow.recv().await.expect("the buffered rest"), "3");
        assert_eq!(slow.recv().await.expect("the buffered rest"), "4");
    }

    #[tokio::test]
    async fn internal_watches_are_subscribed_but_not_counted() {
        let (registry, mut queue) = Registry::new(8);
        let mut feed = registry.watch_internal("live:notifications");
        assert_eq!(requests(&mut queue), [subscribe("live:notifications", 1)]);
        assert_eq!((registry.channel_count(), registry.watcher_count()), (0, 0));
        assert_eq!(registry.internal_channel_count(), 1);
        assert_eq!(registry.deliver("live:notifications", "n".into()), 1);
        assert_eq!(feed.recv().await.expect("message"), "n");
        drop(feed);
        assert_eq!(requests(&mut queue), [unsubscribe("live:notifications")]);
        assert_eq!(registry.internal_channel_count(), 0);
    }

    #[tokio::test]
    async fn confirmations_of_an_older_generation_are_ignored() {
        let (registry, _queue) = Registry::new(8);
        drop(registry.watch("a"));
        let mut watcher = registry.watch("a");
        registry.confirm("a", 1);
        assert!(
            !watcher.wait_subscribed(Duration::from_millis(20)).await,
            "generation 1 is gone"
        );
        registry.confirm("a", 2);
        assert!(watcher.wait_subscribed(Duration::from_millis(20)).await);
        registry.unconfirm_all();
        assert_eq!(registry.channel_state("a").map(|state| state.subscribed), Some(false));
    }
}
