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

/// One end of a range of a topic: an offset (of each partition), or a
/// time (a record's timestamp).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// An offset of each partition.
    Offset(i64),
    /// A time, in milliseconds since the epoch.
    TimeMs(i64),
}

impl Bound {
    /// An offset (`1200`) or an RFC 3339 time (`2026-12-07T10:00:00Z`).
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Ok(offset) = text.parse::<i64>() {
            return Ok(Self::Offset(offset));
        }
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|time| Self::TimeMs(time.timestamp_millis()))
            .map_err(|error| {
                format!("{text:?} is neither an offset nor an RFC 3339 time (2026-12-07T10:00:00Z): {error}")
            })
    }

    /// Where `record` stands against this bound: its offset or timestamp.
    pub fn value_of(self, record: &StoredRecord) -> i64 {
        match self {
            Self::Offset(_) => record.offset,
            Self::TimeMs(_) => record.timestamp_ms.unwrap_or(i64::MIN),
        }
    }

    /// The bound's offset or time (ms).
    pub fn limit(self) -> i64 {
        match self {
            Self::Offset(offset) => offset,
            Self::TimeMs(ms) => ms,
        }
    }
}

/// One record as stored, with its headers as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Where it is stored: topic, partition, offset.
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// The record's timestamp (ms since the epoch), when it has one.
    pub timestamp_ms: Option<i64>,
    /// Its key and payload, as stored.
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    /// Its headers, by name, as text.
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
    let ranges = resolve_range(kafka, &[topic.to_string()], Bound::Offset(0), None)?;
    if ranges.is_empty() {
        return Ok(Vec::new());
    }
    let consumer = reader(kafka, "fleethost-topic-reader")?;
    let mut ends = assign(&consumer, &ranges)?;
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
                let key = (message.topic().to_string(), message.partition());
                if ends.get(&key).is_some_and(|end| message.offset() + 1 >= *end) {
                    ends.remove(&key);
                }
                records.push(stored(&message));
            }
            Some(Err(error)) => tracing::warn!(%topic, %error, "error while reading the topic"),
            None => {}
        }
    }
    if !ends.is_empty() {
        tracing::warn!(
            %topic, records = records.len(), limit_s = READ_LIMIT.as_secs(),
            "stopped reading the topic at the time limit; later records are left out"
        );
    }
    records.sort_by_key(|record| (record.partition, record.offset));
    records.dedup_by_key(|record| (record.partition, record.offset));
    Ok(records)
}

/// The offsets of one partition a range covers: `start` up to, not
/// including, `end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionRange {
    /// The partition: topic and number.
    pub topic: String,
    pub partition: i32,
    /// The first offset, and the one after the last.
    pub start: i64,
    pub end: i64,
}

/// The offsets of every partition of `topics` between `from` and `to`
/// (inclusive; `None`: the end now, the high watermark). An offset bound
/// applies to each partition, never past its high watermark; a time bound
/// is turned into each partition's offsets with the broker's
/// offsets-for-times. Blocking.
pub fn resolve_range(
    kafka: &KafkaConfig,
    topics: &[String],
    from: Bound,
    to: Option<Bound>,
) -> Result<Vec<PartitionRange>, KafkaError> {
    let consumer = reader(kafka, "fleethost-topic-reader")?;
    let metadata = consumer.fetch_metadata(None, REQUEST_TIMEOUT)?;
    let mut ranges = Vec::new();
    for topic in topics {
        let Some(found) = metadata.topics().iter().find(|found| found.name() == topic) else {
            continue;
        };
        for partition in found.partitions().iter().map(|partition| partition.id()) {
            let (low, high) = consumer.fetch_watermarks(topic, partition, REQUEST_TIMEOUT)?;
            let at_time = |ms: i64| -> Result<i64, KafkaError> {
                let mut list = TopicPartitionList::new();
                list.add_partition_offset(topic, partition, Offset::Offset(ms))?;
                let found = consumer.offsets_for_times(list, REQUEST_TIMEOUT)?;
                Ok(found
                    .find_partition(topic, partition)
                    .and_then(|element| match element.offset() {
                        Offset::Offset(offset) => Some(offset),
                        _ => None,
                    })
                    .unwrap_or(high))
            };
            let start = match from {
                Bound::Offset(offset) => offset.max(low),
                Bound::TimeMs(ms) => at_time(ms)?,
            };
            let end = match to {
                None => high,
                Some(Bound::Offset(offset)) => offset.saturating_add(1).min(high),
                Some(Bound::TimeMs(ms)) => at_time(ms.saturating_add(1))?,
            };
            if end > start {
                ranges.push(PartitionRange {
                    topic: topic.clone(),
                    partition,
                    start,
                    end,
                });
            }
        }
    }
    Ok(ranges)
}

/// Every record of `ranges`, read as consumer group `group` (whose offsets
/// are committed at each range's end when all is read, so the group shows
/// how far the read went), by topic, partition and offset. Blocking.
pub fn read_ranges(
    kafka: &KafkaConfig,
    group: &str,
    ranges: &[PartitionRange],
) -> Result<Vec<StoredRecord>, KafkaError> {
    if ranges.is_empty() {
        return Ok(Vec::new());
    }
    let consumer = reader(kafka, group)?;
    let mut open = assign(&consumer, ranges)?;
    let started = Instant::now();
    let mut records = Vec::new();
    while !open.is_empty() && started.elapsed() < READ_LIMIT {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                let key = (message.topic().to_string(), message.partition());
                let Some(end) = open.get(&key).copied() else {
                    continue;
                };
                if message.offset() < end {
                    records.push(stored(&message));
                }
                if message.offset() + 1 >= end {
                    open.remove(&key);
                }
            }
            Some(Err(error)) => tracing::warn!(%group, %error, "error while reading the range"),
            None => {}
        }
    }
    if !open.is_empty() {
        tracing::warn!(%group, unfinished = ?open.keys().collect::<Vec<_>>(), "the range was not read to its end in time");
    }
    let mut done = TopicPartitionList::new();
    for range in ranges {
        done.add_partition_offset(&range.topic, range.partition, Offset::Offset(range.end))?;
    }
    consumer.commit(&done, rdkafka::consumer::CommitMode::Sync)?;
    records.sort_by(|a, b| (&a.topic, a.partition, a.offset).cmp(&(&b.topic, b.partition, b.offset)));
    records.dedup_by(|a, b| (&a.topic, a.partition, a.offset) == (&b.topic, b.partition, b.offset));
    Ok(records)
}

/// A consumer in `group` that only reads: no automatic commits.
fn reader(kafka: &KafkaConfig, group: &str) -> Result<BaseConsumer, KafkaError> {
    super::client_config::reader(kafka)?
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()
}

/// Assigns `consumer` every partition of `ranges` at its start; each
/// partition's end, by (topic, partition).
fn assign(consumer: &BaseConsumer, ranges: &[PartitionRange]) -> Result<HashMap<(String, i32), i64>, KafkaError> {
    let mut assignment = TopicPartitionList::new();
    let mut ends = HashMap::new();
    for range in ranges {
        assignment.add_partition_offset(&range.topic, range.partition, Offset::Offset(range.start))?;
        ends.insert((range.topic.clone(), range.partition), range.end);
    }
    consumer.assign(&assignment)?;
    Ok(ends)
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
        topic: message.topic().to_string(),
        partition: message.partition(),
        offset: message.offset(),
        timestamp_ms: message.timestamp().to_millis(),
        key: message.key().map(<[u8]>::to_vec),
        payload: message.payload().map(<[u8]>::to_vec),
        headers,
    }
}
