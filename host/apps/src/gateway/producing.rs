//! Producing the drivers' fixes to Kafka: the topic, its partition count and
//! payload format, and a non-blocking send that tells the caller when
//! librdkafka's queue is full, so that the connection stops reading instead
//! of buffering.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};

use super::GatewayError;
use super::encoding::check_writable;
use super::partitioning::{Partitioner, Partitioning};
use fleethost_core::config::KafkaConfig;
use fleethost_event::format::PayloadFormat;
use fleethost_event::location::Location;

/// How long librdkafka batches fixes before sending them: many small records
/// from many connections, so a few milliseconds fill a batch.
const LINGER_MS: &str = "10";
/// How long librdkafka tries to deliver a fix before reporting a failure: the
/// driver app hears `unavailable` within this (librdkafka's default, 5
/// minutes, would hold a connection's in-flight fixes that long).
const DELIVERY_TIMEOUT_MS: &str = "30000";
/// Attempts to see the topic's partitions after creating it (metadata can lag
/// a creation by a moment).
const METADATA_ATTEMPTS: u32 = 20;

/// Why a fix was not queued.
#[derive(Debug)]
pub enum SendRefused {
    /// librdkafka's queue is full: wait for deliveries, then try again.
    QueueFull,
    /// The producer cannot take it at all (too large, unknown partition...).
    Failed(KafkaError),
}

/// The producer of the fixes topic with its partitioner and the topic's
/// payload format.
#[derive(Clone)]
pub struct FixProducer {
    producer: FutureProducer,
    topic: String,
    partitioner: Partitioner,
    format: Arc<PayloadFormat>,
}

impl FixProducer {
    /// Checks that `format` can write fixes (before touching Kafka: a
    /// format that can write none is a config mistake to hear of at once),
    /// creates the topic with `partitions` partitions if it is missing,
    /// reads its actual partition count and creates the producer: the
    /// host's idempotent, `acks=all` settings with a longer linger and a
    /// delivery timeout that lets a driver app hear of a failure in time.
    pub async fn connect(
        kafka: &KafkaConfig,
        topic: &str,
        partitions: i32,
        scheme: Partitioning,
        format: Arc<PayloadFormat>,
    ) -> Result<Self, GatewayError> {
        check_writable(&format).map_err(|source| GatewayError::Unwritable {
            topic: topic.to_string(),
            source,
        })?;
        fleethost_core::kafka::admin::ensure_topics(kafka, &[topic.to_string()], partitions)
            .await
            .map_err(|source| GatewayError::CreateTopic {
                topic: topic.to_string(),
                source,
            })?;
        let producer: FutureProducer = fleethost_core::kafka::client_config::producer(kafka)
            .map_err(GatewayError::Producer)?
            .set("linger.ms", LINGER_MS)
            .set("message.timeout.ms", DELIVERY_TIMEOUT_MS)
            .create()
            .map_err(GatewayError::Producer)?;
        let partition_count = partition_count(&producer, topic).await?;
        Ok(Self {
            producer,
            topic: topic.to_string(),
            partitioner: Partitioner::new(scheme, partition_count),
            format,
        })
    }

    /// A producer made elsewhere (tests: against librdkafka's mock cluster,
    /// which cannot create topics).
    #[cfg(test)]
    pub(crate) fn from_parts(
        producer: FutureProducer,
        topic: &str,
        partitioner: Partitioner,
        format: Arc<PayloadFormat>,
    ) -> Self {
        Self {
            producer,
            topic: topic.to_string(),
            partitioner,
            format,
        }
    }

    /// The partitioning in use.
    pub fn partitioner(&self) -> Partitioner {
        self.partitioner
    }

    /// The topic's payload format: what each fix is produced as (see
    /// [`super::encoding`]).
    pub fn format(&self) -> &PayloadFormat {
        &self.format
    }

    /// Queues `payload` (the frame as received on a JSON topic, the fix
    /// encoded in the topic's format otherwise), keyed by the
    /// driver id, in the partition the partitioner picks, with `timestamp_ms`
    /// (when the gateway received it) as the Kafka timestamp. Never waits.
    pub fn try_send(&self, fix: &Location, payload: &[u8], timestamp_ms: i64) -> Result<DeliveryFuture, SendRefused> {
        let mut record = FutureRecord::to(&self.topic)
            .key(fix.driver_id.as_bytes())
            .payload(payload)
            .timestamp(timestamp_ms);
        if let Some(partition) = self.partitioner.partition_for(fix) {
            record = record.partition(partition);
        }
        self.producer.send_result(record).map_err(|(error, _)| match error {
            KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull) => SendRefused::QueueFull,
            error => SendRefused::Failed(error),
        })
    }

    /// Waits up to `timeout` until every queued fix is delivered or failed.
    pub async fn flush(&self, timeout: Duration) -> Result<(), GatewayError> {
        let producer = self.producer.clone();
        tokio::task::spawn_blocking(move || producer.flush(timeout))
            .await
            .map_err(|error| GatewayError::Task(error.to_string()))?
            .map_err(GatewayError::Flush)
    }
}

/// The outcome of one delivery report: `Err` holds the reason for the driver.
pub fn delivery_outcome(report: <DeliveryFuture as std::future::Future>::Output) -> Result<(), String> {
    match report {
        Ok(Ok(_)) => Ok(()),
        Ok(Err((error, _))) => Err(error.to_string()),
        Err(_) => Err("the producer was shut down".to_string()),
    }
}

/// The topic's partition count from the broker's metadata.
async fn partition_count(producer: &FutureProducer, topic: &str) -> Result<i32, GatewayError> {
    for _ in 0..METADATA_ATTEMPTS {
        let (producer, name) = (producer.clone(), topic.to_string());
        let metadata =
            tokio::task::spawn_blocking(move || producer.client().fetch_metadata(Some(&name), Duration::from_secs(10)))
                .await
                .map_err(|error| GatewayError::Task(error.to_string()))?
                .map_err(|source| GatewayError::Metadata {
                    topic: topic.to_string(),
                    source,
                })?;
        let partitions = metadata
            .topics()
            .iter()
            .find(|candidate| candidate.name() == topic && candidate.error().is_none())
            .map_or(0, |found| found.partitions().len());
        if partitions > 0 {
            return Ok(partitions as i32);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(GatewayError::NoPartitions {
        topic: topic.to_string(),
    })
}
