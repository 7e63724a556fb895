//! Names one test owns (topics, groups, key prefixes, tables), unique so
//! that tests run in parallel and never see each other's data.

use std::sync::atomic::{AtomicU64, Ordering};

use super::create_topic;

/// A table name no other test uses (PostgreSQL identifiers: lowercase, `_`).
pub fn unique_table(name: &str) -> String {
    unique(name).replace('-', "_").to_lowercase()
}

/// A name no other test (or earlier run) uses: for topics, groups, key prefixes.
pub fn unique(name: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{name}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The names one test owns: its topic, consumer group and Redis key prefix,
/// unique so that tests run in parallel and never see each other's data.
pub struct TestNames {
    pub topic: String,
    pub group: String,
    pub prefix: String,
}

impl TestNames {
    /// Fresh names for test `name`, with its topic created with `partitions`.
    pub async fn create(name: &str, partitions: i32) -> Self {
        let names = Self {
            topic: unique(&format!("{name}-rider-updates")),
            group: unique(&format!("{name}-group")),
            prefix: format!("{}:", unique(name)),
        };
        create_topic(&names.topic, partitions).await;
        names
    }
}
