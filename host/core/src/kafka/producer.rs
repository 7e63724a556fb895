//! The host's one shared producer: dead letters and the plugins' `produce`
//! capability. An in-memory producer stands in for Kafka where no broker is
//! wanted (`fleethost test`): it keeps what it was given.

use std::sync::{Arc, Mutex, PoisonError};
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
    /// Kept in order, acknowledged at once.
    Memory(Arc<Mutex<Vec<OutgoingRecord>>>),
}

impl Producer {
    /// Creates the producer; it connects lazily.
    pub fn new(kafka: &KafkaConfig) -> Result<Self, KafkaError> {
        Ok(Self {
            inner: Sink::Kafka(super::client_config::producer(kafka)?.create()?),
        })
    }

    /// A producer that keeps every record in memory and acknowledges it at
    /// once: `produce` without a broker, for offline plugin tests.
    pub fn in_memory() -> Self {
        Self {
            inner: Sink::Memory(Arc::default()),
        }
    }

    /// The records an in-memory producer was given, in order; empty for
    /// Kafka.
    pub fn kept(&self) -> Vec<OutgoingRecord> {
        match &self.inner {
            Sink::Kafka(_) => Vec::new(),
            Sink::Memory(kept) => kept.lock().unwrap_or_else(PoisonError::into_inner).clone(),
        }
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
            Sink::Memory(kept) => {
                kept.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend_from_slice(records);
                return Ok(Vec::new());
            }
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
