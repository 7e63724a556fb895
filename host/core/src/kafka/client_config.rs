//! librdkafka's string keys, in one place.
//!
//! The host owns the keys that its delivery guarantees depend on; a user's
//! `kafka.properties`, `kafka.consumer_properties` and
//! `kafka.producer_properties` may set anything else.

use std::collections::BTreeMap;

use rdkafka::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaConfRes;

use crate::config::{KafkaConfig, PipelineConfig};

/// The brokers, and how to reach them safely: TLS and SASL from
/// `[kafka.tls]` and `[kafka.sasl]`, the password read from its source now.
fn base(kafka: &KafkaConfig) -> Result<ClientConfig, KafkaError> {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &kafka.bootstrap_servers);
    let protocol = match (&kafka.tls, &kafka.sasl) {
        (None, None) => return Ok(config),
        (Some(_), None) => "SSL",
        (None, Some(_)) => "SASL_PLAINTEXT",
        (Some(_), Some(_)) => "SASL_SSL",
    };
    config.set("security.protocol", protocol);
    if let Some(tls) = &kafka.tls {
        // The brokers' host names are checked against their certificates.
        config.set("ssl.endpoint.identification.algorithm", "https");
        if let Some(ca_file) = &tls.ca_file {
            config.set("ssl.ca.location", ca_file.display().to_string());
        }
        if let (Some(cert_file), Some(key_file)) = (&tls.cert_file, &tls.key_file) {
            config
                .set("ssl.certificate.location", cert_file.display().to_string())
                .set("ssl.key.location", key_file.display().to_string());
        }
    }
    if let Some(sasl) = &kafka.sasl {
        let password = sasl.password.read().map_err(|error| {
            KafkaError::ClientConfig(
                RDKafkaConfRes::RD_KAFKA_CONF_INVALID,
                format!("kafka.sasl.password: {error}"),
                "sasl.password".into(),
                String::new(),
            )
        })?;
        config
            .set("sasl.mechanism", sasl.mechanism.as_str())
            .set("sasl.username", &sasl.username)
            .set("sasl.password", String::from_utf8_lossy(password.expose()));
    }
    Ok(config)
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
/// properties still override them), each chosen by measuring with
/// `scripts/bench.sh` (figures in docs/perf-log.md, "Consumer settings
/// chosen"):
/// - `fetch.queue.backoff.ms` 10 (librdkafka: 1000): a broker may answer one
///   fetch with a partition's whole backlog, which fills the pre-fetch queue;
///   librdkafka then waits the backoff before fetching again, even when the
///   workers drained the queue long before. 0 made the fetcher of a pipeline
///   that is behind spin on `poll()`; 10 ms costs a fast consumer nothing.
/// - `queued.min.messages` 5000 per partition (librdkafka: 100000): a
///   pipeline hands over batches of at most a few thousand events, so 5,000
///   pre-fetched ones keep it busy, and five pipelines over the same
///   partitions no longer each hold the whole backlog in memory; fewer
///   starved the live pipeline.
/// - `queued.max.messages.kbytes` 2048 per partition (librdkafka: 65536),
///   `fetch.max.bytes` 1 MiB (librdkafka: 50 MiB) and
///   `max.partition.fetch.bytes` 256 KiB (librdkafka: 1 MiB): a heap profile
///   found most of a pipeline's heap in librdkafka's pre-fetched messages
///   and fetch buffers; location fixes are small, so 2 MiB per partition is
///   still thousands of them, and the rates stayed the same.
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
pub fn consumer(kafka: &KafkaConfig, pipeline: &PipelineConfig) -> Result<ClientConfig, KafkaError> {
    let mut config = base(kafka)?;
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
    Ok(config)
}

/// Producer settings: idempotent, acknowledged by all in-sync replicas, so a
/// dead letter is durable before the offset past it is stored.
pub fn producer(kafka: &KafkaConfig) -> Result<ClientConfig, KafkaError> {
    let mut config = base(kafka)?;
    config.set("linger.ms", "5").set("compression.type", "none");
    let mut config = with_user_properties(config, kafka, &kafka.producer_properties);
    config.set("enable.idempotence", "true").set("acks", "all");
    Ok(config)
}

/// Settings of a plain reader outside any pipeline (`fleethost tail`): the
/// brokers and their security, `kafka.properties` and
/// `kafka.consumer_properties`; the caller sets its group and offsets.
pub fn reader(kafka: &KafkaConfig) -> Result<ClientConfig, KafkaError> {
    Ok(with_user_properties(base(kafka)?, kafka, &kafka.consumer_properties))
}

/// Admin client settings (topic creation).
pub fn admin(kafka: &KafkaConfig) -> Result<ClientConfig, KafkaError> {
    Ok(with_user_properties(base(kafka)?, kafka, &BTreeMap::new()))
}
