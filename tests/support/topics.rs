//! Kafka topics as the tests use them: created, produced to (returning
//! where each message landed) and read back from the start.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use super::{Fixture, bootstrap, unique};

/// Creates a topic with `partitions` partitions.
pub async fn create_topic(topic: &str, partitions: i32) {
    create_topic_at(&bootstrap(), topic, partitions).await;
}

/// Creates a topic with `partitions` partitions on the broker at `bootstrap`.
pub async fn create_topic_at(bootstrap: &str, topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("admin client");
    let results = admin
        .create_topics(
            &[NewTopic::new(topic, partitions, TopicReplication::Fixed(-1))],
            &AdminOptions::new(),
        )
        .await
        .expect("create topic");
    for result in results {
        result.expect("topic created");
    }
}

/// Where a produced message landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub partition: i32,
    pub offset: i64,
}

/// Produces every fixture, keyed by driver id, and returns where each landed.
pub async fn produce(topic: &str, data: &[Fixture]) -> Vec<Position> {
    produce_at(&bootstrap(), topic, data).await
}

/// How a test's producer delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Producing {
    /// Idempotent: every message once, where it was acknowledged.
    Idempotent,
    /// Plain retries: a message whose acknowledgement was lost (a broker
    /// killed mid-request) may be stored twice, the second copy at an offset
    /// no delivery report names. For a broker that forgets its producers'
    /// sequence numbers across a restart (Tansu), where an idempotent
    /// producer fails with `OutOfOrderSequenceNumber`.
    AtLeastOnce,
}

/// [`produce`] to the broker at `bootstrap`.
pub async fn produce_at(bootstrap: &str, topic: &str, data: &[Fixture]) -> Vec<Position> {
    produce_with(bootstrap, topic, data, Producing::Idempotent).await
}

/// [`produce_at`] delivering as `producing` says.
pub async fn produce_with(bootstrap: &str, topic: &str, data: &[Fixture], producing: Producing) -> Vec<Position> {
    let idempotent = if producing == Producing::Idempotent {
        "true"
    } else {
        "false"
    };
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "10")
        .set("enable.idempotence", idempotent)
        .set("acks", "all")
        .create()
        .expect("producer");
    produce_through(&producer, topic, data).await
}

/// Produces `data` one record per record batch. A broker's high watermark
/// (ListOffsets, latest) is what the host measures lag and ranges by, and
/// Tansu computes it per record batch: after a batch of many records it
/// answers with an offset inside that batch. One record per batch makes its
/// answer the true end of the log.
pub async fn produce_one_per_batch(topic: &str, data: &[Fixture]) -> Vec<Position> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("enable.idempotence", "true")
        .set("batch.num.messages", "1")
        .create()
        .expect("producer");
    produce_through(&producer, topic, data).await
}

/// Produces every fixture with `producer`, keyed by driver id, and returns
/// where each landed: for a test whose producer needs settings of its own
/// (TLS, SASL).
pub async fn produce_through(producer: &FutureProducer, topic: &str, data: &[Fixture]) -> Vec<Position> {
    let mut positions = Vec::with_capacity(data.len());
    for chunk in data.chunks(2000) {
        let sends = chunk.iter().map(|fixture| {
            producer.send(
                FutureRecord::to(topic)
                    .key(fixture.key.as_bytes())
                    .payload(fixture.payload.as_bytes()),
                Duration::from_secs(30),
            )
        });
        for result in futures::future::join_all(sends).await {
            let delivery = result.map_err(|(error, _)| error).expect("message delivered");
            positions.push(Position {
                partition: delivery.partition,
                offset: delivery.offset,
            });
        }
    }
    positions
}

/// Produces `(key, payload)` messages in order (one at a time, so that their
/// order in each partition is the order given) and returns where each landed.
pub async fn produce_messages(topic: &str, messages: &[(String, String)]) -> Vec<Position> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("enable.idempotence", "true")
        .create()
        .expect("producer");
    let mut positions = Vec::with_capacity(messages.len());
    for (key, payload) in messages {
        let delivery = producer
            .send(
                FutureRecord::to(topic).key(key.as_bytes()).payload(payload.as_bytes()),
                Duration::from_secs(30),
            )
            .await
            .map_err(|(error, _)| error)
            .expect("message delivered");
        positions.push(Position {
            partition: delivery.partition,
            offset: delivery.offset,
        });
    }
    positions
}

/// Produces `data` in chunks of `chunk` messages, `pause` apart: a steady
/// stream that is still flowing while a test stops or kills a host.
pub async fn produce_paced(topic: String, data: Vec<Fixture>, chunk: usize, pause: Duration) -> Vec<Position> {
    produce_paced_at(
        bootstrap(),
        topic,
        data,
        chunk,
        pause,
        Producing::Idempotent,
        Arc::default(),
    )
    .await
}

/// [`produce_paced`] to the broker at `bootstrap`, delivering as
/// `producing` says, counting in `produced` the messages it has
/// acknowledged so far: how far the stream had got at a given moment.
pub async fn produce_paced_at(
    bootstrap: String,
    topic: String,
    data: Vec<Fixture>,
    chunk: usize,
    pause: Duration,
    producing: Producing,
    produced: Arc<AtomicUsize>,
) -> Vec<Position> {
    let mut positions = Vec::with_capacity(data.len());
    for part in data.chunks(chunk) {
        positions.extend(produce_with(&bootstrap, &topic, part, producing).await);
        produced.store(positions.len(), Ordering::SeqCst);
        tokio::time::sleep(pause).await;
    }
    positions
}

/// Like [`produce_paced`], but stops early when `stop` is cancelled: a stream
/// that flows for as long as a test needs. Returns where the produced prefix
/// of `data` landed.
pub async fn produce_until(
    topic: String,
    data: Vec<Fixture>,
    chunk: usize,
    pause: Duration,
    stop: tokio_util::sync::CancellationToken,
) -> Vec<Position> {
    let mut positions = Vec::with_capacity(data.len());
    for part in data.chunks(chunk) {
        if stop.is_cancelled() {
            break;
        }
        positions.extend(produce(&topic, part).await);
        tokio::time::sleep(pause).await;
    }
    positions
}

/// A dead letter as read back from Kafka.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub payload: Option<String>,
    pub headers: BTreeMap<String, String>,
}

/// The messages of `topic` from its start: reads until `expected` arrived,
/// then `settle` longer so that any extra message is caught too.
pub fn read_all(topic: &str, expected: usize, settle: Duration) -> Vec<DeadLetter> {
    read_all_at(&bootstrap(), topic, expected, settle)
}

/// [`read_all`] on the broker at `bootstrap`.
pub fn read_all_at(bootstrap: &str, topic: &str, expected: usize, settle: Duration) -> Vec<DeadLetter> {
    let messages = read_up_to_at(bootstrap, topic, expected, settle, Duration::from_secs(60));
    assert!(
        messages.len() >= expected,
        "read only {} of {expected} messages of {topic}",
        messages.len()
    );
    messages
}

/// The messages of `topic` from its start, once `expected` arrived and
/// `settle` passed, or whatever arrived within `wait`: for a test that
/// explains a shortfall itself.
pub fn read_up_to_at(
    bootstrap: &str,
    topic: &str,
    expected: usize,
    settle: Duration,
    wait: Duration,
) -> Vec<DeadLetter> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", unique("reader"))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    // Assign every partition from the beginning: no group join to wait for.
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    let mut assignment = TopicPartitionList::new();
    for partition in metadata.topics().iter().flat_map(|topic| topic.partitions()) {
        assignment
            .add_partition_offset(topic, partition.id(), Offset::Beginning)
            .expect("assignment");
    }
    consumer.assign(&assignment).expect("assign");
    let mut messages = Vec::new();
    let deadline = Instant::now() + wait;
    let mut settle_until: Option<Instant> = None;
    loop {
        if messages.len() >= expected {
            let until = *settle_until.get_or_insert_with(|| Instant::now() + settle);
            if Instant::now() >= until {
                break;
            }
        }
        if Instant::now() >= deadline {
            break;
        }
        let Some(result) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = result.expect("message");
        let text = |bytes: Option<&[u8]>| bytes.map(|bytes| String::from_utf8_lossy(bytes).into_owned());
        let headers = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|header| (header.key.to_string(), text(header.value).unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        messages.push(DeadLetter {
            partition: message.partition(),
            offset: message.offset(),
            key: text(message.key()),
            payload: text(message.payload()),
            headers,
        });
    }
    messages
}

/// The source positions named by dead letters' headers.
pub fn dead_letter_positions(dead_letters: &[DeadLetter]) -> BTreeSet<Position> {
    dead_letters
        .iter()
        .map(|letter| Position {
            partition: letter.headers["fleethost.source.partition"]
                .parse()
                .expect("partition header"),
            offset: letter.headers["fleethost.source.offset"]
                .parse()
                .expect("offset header"),
        })
        .collect()
}
