//! librdkafka's string keys, in one place.
//!
//! The host owns the keys that its delivery guarantees depend on; a user's
//! `kafka.properties`, `kafka.consumer_properties` and
//! `kafka.producer_properties` may set anything else.

use std::collections::BTreeMap;

use rdkafka::ClientConfig;

use crate::config::{KafkaConfig, PipelineConfig};

/// Properties fleethost sets itself: overriding them would break
/// at-least-once delivery or the pipeline/group mapping.
pub const HOST_OWNED_PROPERTIES: [&str; 6] = [
    "bootstrap.servers",
    "group.id",
    "enable.auto.offset.store",
    "enable.auto.commit",
    "auto.commit.interval.ms",
    "enable.idempotence",
];

/// The first property in `properties` that the host owns, if any.
pub fn host_owned_property(properties: &BTreeMap<String, String>) -> Option<&str> {
    properties
        .keys()
        .map(String::as_str)
        .find(|key| HOST_OWNED_PROPERTIES.contains(key))
}

fn base(kafka: &KafkaConfig) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &kafka.bootstrap_servers);
    config
}

/// Applies the user's properties for every client, then those for this kind of
/// client.
fn with_user_properties(
    mut config: ClientConfig,
    kafka: &KafkaConfig,
    specific: &BTreeMap<String, String>,
) -> ClientConfig {
    for (key, value) in kafka.properties.iter().chain(specific) {
        config.set(key, value);
    }
    config
}

/// librdkafka defaults fleethost changes for its consumers (a user's
/// properties still override them), measured with `scripts/bench.sh`:
/// - `fetch.queue.backoff.ms` 10 (librdkafka: 1000): a broker may answer one
///   fetch with tens of thousands of messages of one partition, which fills
///   the pre-fetch queue; librdkafka then waits a whole second before
///   fetching again, even when the workers drained the queue long before.
///   With 0 instead, the fetcher thread of a pipeline that is behind (its
///   queue full) spins on poll() between its checks: 10 ms costs a fast
///   consumer nothing (2 MiB of fixes last it far longer) and took the live
///   pipeline from 13.4 to 9.1 CPU µs per fix, all five from 107 to 84.
/// - `queued.min.messages` 5000 per partition (librdkafka: 100000): a
///   pipeline hands over batches of at most a few thousand events, so 5,000
///   pre-fetched ones per partition keep it busy (a second of work for all
///   five pipelines), and five pipelines over four partitions no longer
///   pre-fetch (and hold in memory) the whole backlog each. A heap profile of
///   all five found 88 of their 227 MiB in librdkafka's pre-fetched message
///   ops at 20,000; 5,000 took their peak RSS from 365–372 to 301–304 MiB at
///   the same rate, and live-location's from 94 to 81 MiB (2,000 starved
///   live-location: 77,000 fixes/s against 87,000–98,000).
/// - `queued.max.messages.kbytes` 2048 per partition (librdkafka: 65536),
///   `fetch.max.bytes` 1 MiB (librdkafka: 50 MiB) and
///   `max.partition.fetch.bytes` 256 KiB (librdkafka: 1 MiB): a heap profile
///   of the live pipeline (heaptrack, 300,000 fixes) found 96 of its 106 MiB
///   of heap in librdkafka's pre-fetched messages and fetch buffers; location
///   fixes are small (~150 bytes), so 2 MiB per partition is still over
///   10,000 of them. Measured: live-location 149 → 100 MiB, all five
///   pipelines 540 → 397 MiB, at the same rates (BENCHMARKS.md).
pub const CONSUMER_DEFAULTS: [(&str, &str); 5] = [
    ("fetch.queue.backoff.ms", "10"),
    ("queued.min.messages", "5000"),
    ("queued.max.messages.kbytes", "2048"),
    ("fetch.max.bytes", "1048576"),
    ("max.partition.fetch.bytes", "262144"),
];

/// Consumer settings of one pipeline: offsets are stored by the host only
/// once everything at or below them is done, and librdkafka commits the stored
/// offsets every `commit_interval_ms` (the host also commits synchronously on
/// revoke and at shutdown). The user's properties apply in the order
/// `kafka.properties`, `kafka.consumer_properties`, the pipeline's own
/// `consumer_properties`.
pub fn consumer(kafka: &KafkaConfig, pipeline: &PipelineConfig) -> ClientConfig {
    let mut config = base(kafka);
    config
        .set("auto.offset.reset", "earliest")
        .set("partition.assignment.strategy", "range,roundrobin");
    for (key, value) in CONSUMER_DEFAULTS {
        config.set(key, value);
    }
    let mut config = with_user_properties(config, kafka, &kafka.consumer_properties);
    for (key, value) in &pipeline.consumer_properties {
        config.set(key, value);
    }
    config
        .set("group.id", &pipeline.group_id)
        .set("enable.auto.offset.store", "false")
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", pipeline.commit_interval_ms.to_string());
    config
}

/// Producer settings: idempotent, acknowledged by all in-sync replicas, so a
/// dead letter is durable before the offset past it is stored.
pub fn producer(kafka: &KafkaConfig) -> ClientConfig {
    let mut config = base(kafka);
    config.set("linger.ms", "5").set("compression.type", "none");
    let mut config = with_user_properties(config, kafka, &kafka.producer_properties);
    config.set("enable.idempotence", "true").set("acks", "all");
    config
}

/// Admin client settings (topic creation).
pub fn admin(kafka: &KafkaConfig) -> ClientConfig {
    with_user_properties(base(kafka), kafka, &BTreeMap::new())
}
