//! `fleethost tail`: follows output topics (ETAs, fares, notifications, dead
//! letters) from their end and prints what arrives, record by record or as a
//! periodic summary. What an operator (and the demo) uses to see the plugins'
//! output live without a separate Kafka client.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

/// What to follow and how to print it.
#[derive(Debug, Clone)]
pub struct TailConfig {
    /// How to reach Kafka: brokers, TLS, SASL, properties.
    pub kafka: fleethost_core::config::KafkaConfig,
    /// Topics to follow, from their current end.
    pub topics: Vec<String>,
    /// `None`: print every record. `Some(interval)`: print per topic the
    /// number of records so far, the rate, and the newest record, every
    /// interval.
    pub summary: Option<Duration>,
}

/// Longest payload printed, in characters.
const MAX_PRINTED: usize = 240;

/// Follows the topics until `stop` is cancelled. Blocking: run it on a
/// thread of its own. Records are printed as fast as stdout's reader takes
/// them (a slow reader slows the tail down); a reader that went away is
/// not an error.
pub fn tail(config: &TailConfig, stop: &CancellationToken) -> Result<(), rdkafka::error::KafkaError> {
    let consumer: BaseConsumer = fleethost_core::kafka::client_config::reader(&config.kafka)?
        .set("group.id", "fleethost-tail")
        .set("enable.auto.commit", "false")
        .create()?;
    // Wait until every topic exists, then assign all partitions at their end:
    // no group join, nothing committed.
    let assignment = loop {
        let metadata = consumer.fetch_metadata(None, Duration::from_secs(10))?;
        let mut assignment = TopicPartitionList::new();
        let mut missing = Vec::new();
        for topic in &config.topics {
            match metadata.topics().iter().find(|found| found.name() == topic) {
                Some(found) if !found.partitions().is_empty() => {
                    for partition in found.partitions() {
                        assignment.add_partition_offset(topic, partition.id(), Offset::End)?;
                    }
                }
                _ => missing.push(topic.as_str()),
            }
        }
        if missing.is_empty() {
            break assignment;
        }
        if stop.is_cancelled() {
            return Ok(());
        }
        fleethost_core::console::err(&format!("tail: waiting for topics {missing:?} to exist"));
        std::thread::sleep(Duration::from_secs(2));
    };
    consumer.assign(&assignment)?;

    let mut counts: BTreeMap<String, (u64, String)> = config
        .topics
        .iter()
        .map(|topic| (topic.clone(), (0, String::new())))
        .collect();
    let started = Instant::now();
    let mut last_summary = Instant::now();
    while !stop.is_cancelled() {
        if let Some(result) = consumer.poll(Duration::from_millis(200)) {
            let message = result?;
            let text = |bytes: Option<&[u8]>| String::from_utf8_lossy(bytes.unwrap_or_default()).into_owned();
            let payload: String = text(message.payload()).chars().take(MAX_PRINTED).collect();
            match config.summary {
                None => {
                    fleethost_core::console::out_blocking(&format!(
                        "{} [{}] {}: {payload}",
                        message.topic(),
                        text(message.key()),
                        message.offset()
                    ));
                }
                Some(_) => {
                    if let Some((count, latest)) = counts.get_mut(message.topic()) {
                        *count += 1;
                        *latest = payload;
                    }
                }
            }
        }
        if let Some(interval) = config.summary
            && last_summary.elapsed() >= interval
        {
            last_summary = Instant::now();
            let seconds = started.elapsed().as_secs_f64().max(1.0);
            for (topic, (count, latest)) in &counts {
                fleethost_core::console::out_blocking(&format!(
                    "{topic}: {count} records ({:.1}/s){}{latest}",
                    *count as f64 / seconds,
                    if latest.is_empty() { "" } else { ", newest: " }
                ));
            }
        }
    }
    Ok(())
}
