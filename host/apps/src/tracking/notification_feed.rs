//! The live map's notification feed: the latest notifications the geofence
//! plugin published on `{key_prefix}live:notifications`, newest first.
//!
//! The server keeps one permanent watch of that channel through the
//! [`Registry`] (an internal watch, not counted as a customer), so the
//! subscriber task subscribes it with everything else and resubscribes it
//! after a Redis restart. Pub/sub keeps nothing: notifications published
//! before the server started, or while Redis was unreachable, are not in
//! the feed.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::registry::Registry;

/// How many notifications the feed keeps.
pub const FEED_LENGTH: usize = 50;

/// The latest notifications, shared by the feed task and `/api/map`.
#[derive(Default)]
pub struct NotificationFeed {
    latest: Mutex<VecDeque<Value>>,
}

impl NotificationFeed {
    /// Adds a published message: its JSON, or the text itself when it is
    /// not JSON (shown as is rather than dropped).
    pub fn push(&self, text: &str) {
        let value = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()));
        let mut latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        latest.push_front(value);
        latest.truncate(FEED_LENGTH);
    }

    /// The latest notifications, newest first.
    pub fn latest(&self) -> Vec<Value> {
        let latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        latest.iter().cloned().collect()
    }

    /// Follows `channel` until `shutdown`, keeping the latest messages.
    pub async fn follow(self: Arc<Self>, registry: Arc<Registry>, channel: String, shutdown: CancellationToken) {
        let mut watcher = registry.watch_internal(&channel);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                message = watcher.recv() => match message {
                    Ok(text) => self.push(text.as_str()),
                    // Only the newest matter: skip what was missed.
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "the live map's notification feed fell behind");
                    }
                    Err(RecvError::Closed) => return,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_feed_keeps_the_latest_newest_first() {
        let feed = NotificationFeed::default();
        for index in 0..FEED_LENGTH + 5 {
            feed.push(&format!(r#"{{"type":"near","n":{index}}}"#));
        }
        feed.push("not json");
        let latest = feed.latest();
        assert_eq!(latest.len(), FEED_LENGTH);
        assert_eq!(latest[0], Value::String("not json".into()));
        assert_eq!(latest[1]["n"], FEED_LENGTH + 4);
    }
}
