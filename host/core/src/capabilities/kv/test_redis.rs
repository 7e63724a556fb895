//! What the kv unit tests against the real Redis of the test suite share:
//! its URL (`FLEETHOST_TEST_REDIS`, default the local one), a key prefix
//! of each test's own, and a subscriber that collects what is published.

use std::time::Duration;

use futures::StreamExt;

/// The test suite's Redis.
pub fn url() -> String {
    std::env::var("FLEETHOST_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A key prefix no other test run uses, starting with `name`.
pub fn unique_prefix(name: &str) -> String {
    format!(
        "{name}-{}-{}:",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    )
}

/// A connection subscribed to `channel`.
pub async fn subscriber(channel: &str) -> redis::aio::PubSub {
    let mut subscriber = redis::Client::open(url().as_str())
        .expect("redis url")
        .get_async_pubsub()
        .await
        .expect("pub/sub connection");
    subscriber.subscribe(channel).await.expect("SUBSCRIBE");
    subscriber
}

/// The messages `subscriber` received, until none came for half a second.
pub async fn received(subscriber: &mut redis::aio::PubSub) -> Vec<String> {
    let mut messages = subscriber.on_message();
    let mut received = Vec::new();
    while let Ok(Some(message)) = tokio::time::timeout(Duration::from_millis(500), messages.next()).await {
        received.push(message.get_payload::<String>().expect("text payload"));
    }
    received
}
