//! Counters of the tracking server, and the `/stats` answer built from them
//! and the registry: how many Redis subscriptions serve how many watchers
//! (the tests prove the fan-out with it).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use serde::Serialize;

use super::registry::{ChannelState, Registry};

/// Counters updated by the sessions and the Redis connection task.
#[derive(Debug, Default)]
pub struct TrackingStats {
    /// Whether the pub/sub connection to Redis is up.
    pub redis_connected: AtomicBool,
    /// Channels Redis confirmed on the current pub/sub connection.
    pub redis_subscriptions: AtomicUsize,
    /// Pub/sub connections made after the first one (reconnects).
    pub redis_reconnects: AtomicU64,
    /// Messages received from Redis.
    pub messages_received: AtomicU64,
    /// Frames sent to customers (initial positions, messages, lag notices).
    pub frames_sent: AtomicU64,
    /// `lagged` frames sent: a customer fell behind its channel's buffer.
    pub lagged_frames: AtomicU64,
    /// Messages customers missed by falling behind, summed.
    pub messages_missed: AtomicU64,
    /// Customers' WebSockets opened since the start.
    pub customers_total: AtomicU64,
}

/// The `/stats` JSON.
#[derive(Debug, Serialize)]
pub struct StatsReport {
    pub redis_connected: bool,
    /// Channels subscribed on Redis: one per watched channel, however many
    /// customers watch it.
    pub redis_subscriptions: usize,
    /// Channels with at least one watcher.
    pub channels: usize,
    /// Customers watching, over all channels.
    pub watchers: usize,
    pub redis_reconnects: u64,
    pub messages_received: u64,
    pub frames_sent: u64,
    pub lagged_frames: u64,
    pub messages_missed: u64,
    pub customers_total: u64,
    /// The channel asked about with `?driver=ID` / `?order=ID`, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<ChannelReport>,
}

/// One channel in `/stats?driver=ID` (or `?order=ID`).
#[derive(Debug, Serialize)]
pub struct ChannelReport {
    pub name: String,
    /// 0 when nobody watches it.
    pub watchers: usize,
    /// Whether Redis holds the subscription.
    pub subscribed: bool,
}

impl TrackingStats {
    /// The counters, the registry's totals and, when `channel` is given, that
    /// channel's state.
    pub fn report(&self, registry: &Registry, channel: Option<String>) -> StatsReport {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        StatsReport {
            redis_connected: self.redis_connected.load(Ordering::Relaxed),
            // Customers' subscriptions: the server's own (the live map's
            // notification feed) are left out.
            redis_subscriptions: self
                .redis_subscriptions
                .load(Ordering::Relaxed)
                .saturating_sub(registry.internal_channel_count()),
            channels: registry.channel_count(),
            watchers: registry.watcher_count(),
            redis_reconnects: load(&self.redis_reconnects),
            messages_received: load(&self.messages_received),
            frames_sent: load(&self.frames_sent),
            lagged_frames: load(&self.lagged_frames),
            messages_missed: load(&self.messages_missed),
            customers_total: load(&self.customers_total),
            channel: channel.map(|name| {
                let state = registry.channel_state(&name).unwrap_or(ChannelState {
                    watchers: 0,
                    subscribed: false,
                });
                ChannelReport {
                    name,
                    watchers: state.watchers,
                    subscribed: state.subscribed,
                }
            }),
        }
    }
}
