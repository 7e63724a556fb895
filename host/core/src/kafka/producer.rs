//! The host's one shared producer: dead letters and the plugins' `produce`
//! capability. A producer without a broker stands in for Kafka where none is
//! wanted (`fleethost test`, whose tape shows what was sent).

use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::config::KafkaConfig;

/// A record to publish, owned so it can be retried.
#[derive(Debug, Clone)]
pub struct OutgoingRecord {
    /// Destination topic.
    pub topic: String,
    /// Message key, as received or as chosen by the plugin.
    pub key: Option<Vec<u8>>,
    /// Message value.
    pub payload: Option<Vec<u8>>,
    /// Header names and values.
    pub headers: Vec<(String, Vec<u8>)>,
}

/// Idempotent producer shared by every pipeline.
#[derive(Clone)]
pub struct Producer {
    inner: Sink,
}

/// Where records go.
#[derive(Clone)]
enum Sink {
    Kafka(FutureProducer),
    /// Acknowledged at once, kept nowhere.
    Nowhere,
}

impl Producer {
    /// Creates the producer; it connects lazily.
    pub fn new(kafka: &KafkaConfig) -> Result<Self, KafkaError> {
        Ok(Self {
            inner: Sink::Kafka(super::client_config::producer(kafka)?.create()?),
        })
    }

    /// A producer that acknowledges every record at once without sending
    /// it: `produce` without a broker, for offline plugin tests (whose tape
    /// shows what was sent).
    pub fn acknowledging() -> Self {
        Self { inner: Sink::Nowhere }
    }

    /// Publishes all records and waits until the broker acknowledged every one
    /// of them. Records are sent concurrently; the first failure is returned
    /// after all deliveries settled, so the caller can retry the whole set
    /// (the producer is idempotent; a retried record may appear twice only if
    /// the first attempt's acknowledgement was lost).
    ///
    /// On success, the indexes of the records the broker acknowledged as
    /// written by an earlier attempt (a retry answered "duplicate sequence
    /// number"): Kafka counts that as delivered, but gives no offset, so the
    /// caller can name them; a broker that lost the earlier write while
    /// keeping its sequence number would have lost exactly these.
    pub async fn send_all(&self, records: &[OutgoingRecord]) -> Result<Vec<usize>, KafkaError> {
        let producer = match &self.inner {
            Sink::Kafka(producer) => producer,
            Sink::Nowhere => return Ok(Vec::new()),
        };
        let deliveries = records.iter().map(|record| {
            let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
            for (name, value) in &record.headers {
                headers = headers.insert(rdkafka::message::Header {
                    key: name,
                    value: Some(value),
                });
            }
            let mut message = FutureRecord::<[u8], [u8]>::to(&record.topic).headers(headers);
            if let Some(key) = &record.key {
                message = message.key(key);
            }
            if let Some(payload) = &record.payload {
                message = message.payload(payload);
            }
            producer.send(message, Duration::from_secs(30))
        });
        let mut first_error = None;
        let mut without_offset = Vec::new();
        for (index, result) in futures::future::join_all(deliveries).await.into_iter().enumerate() {
            match result {
                Ok(delivery) if delivery.offset < 0 => without_offset.push(index),
                Ok(_) => {}
                Err((error, _)) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(without_offset),
        }
    }
}
