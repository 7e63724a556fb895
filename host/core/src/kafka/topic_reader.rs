//! Reading a whole topic from its start, outside any consumer group: how
//! `fleethost dlq` reads dead letters and the record of their redrives.
//!
//! The end of a partition is taken from the broker's high watermark, and
//! then the reader goes on until nothing more arrives for a short while: a
//! broker that answers the high watermark low (Tansu computes it per record
//! batch) still has every record read.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

use crate::config::KafkaConfig;

/// How long one broker request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long nothing may arrive before the topic counts as read.
const SETTLE: Duration = Duration::from_millis(1500);
/// The longest a read may take in all.
const READ_LIMIT: Duration = Duration::from_secs(120);

/// One record as stored, with its headers as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub partition: i32,
    pub offset: i64,
    /// The record's timestamp (ms since the epoch), when it has one.
    pub timestamp_ms: Option<i64>,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    pub headers: BTreeMap<String, String>,
}

impl StoredRecord {
    /// The header `name`, if the record has it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// Every record of `topic`, by partition then offset; empty when the topic
/// does not exist. Blocking: call it off the async workers.
pub fn read_topic(kafka: &KafkaConfig, topic: &str) -> Result<Vec<StoredRecord>, KafkaError> {
    let consumer: BaseConsumer = super::client_config::reader(kafka)?
        .set("group.id", "fleethost-topic-reader")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()?;
    // Metadata for every topic: asking for a missing one by name makes some
    // brokers create it.
    let metadata = consumer.fetch_metadata(None, REQUEST_TIMEOUT)?;
    let Some(found) = metadata.topics().iter().find(|found| found.name() == topic) else {
        return Ok(Vec::new());
    };
    let partitions: Vec<i32> = found.partitions().iter().map(|partition| partition.id()).collect();
    let mut ends: HashMap<i32, i64> = HashMap::new();
    let mut assignment = TopicPartitionList::new();
    for partition in &partitions {
        let (low, high) = consumer.fetch_watermarks(topic, *partition, REQUEST_TIMEOUT)?;
        if high > low {
            ends.insert(*partition, high);
            assignment.add_partition_offset(topic, *partition, Offset::Beginning)?;
        }
    }
    if ends.is_empty() {
        return Ok(Vec::new());
    }
    consumer.assign(&assignment)?;
    let (started, mut last_message) = (Instant::now(), Instant::now());
    let mut records = Vec::new();
    loop {
        let reached = ends.is_empty();
        if (reached && last_message.elapsed() >= SETTLE) || started.elapsed() >= READ_LIMIT {
            break;
        }
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                last_message = Instant::now();
                if ends
                    .get(&message.partition())
                    .is_some_and(|end| message.offset() + 1 >= *end)
                {
                    ends.remove(&message.partition());
                }
                records.push(stored(&message));
            }
            Some(Err(error)) => tracing::warn!(%topic, %error, "error while reading the topic"),
            None => {}
        }
    }
    records.sort_by_key(|record| (record.partition, record.offset));
    records.dedup_by_key(|record| (record.partition, record.offset));
    Ok(records)
}

fn stored(message: &rdkafka::message::BorrowedMessage<'_>) -> StoredRecord {
    let headers = message
        .headers()
        .map(|headers| {
            headers
                .iter()
                .map(|header| {
                    let value = header.value.map(String::from_utf8_lossy).unwrap_or_default();
                    (header.key.to_string(), value.into_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    StoredRecord {
        partition: message.partition(),
        offset: message.offset(),
        timestamp_ms: message.timestamp().to_millis(),
        key: message.key().map(<[u8]>::to_vec),
        payload: message.payload().map(<[u8]>::to_vec),
        headers,
    }
}
