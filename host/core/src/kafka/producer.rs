//! The host's one shared producer: dead letters now, the plugins' `produce`
//! capability later.

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
    inner: FutureProducer,
}

impl Producer {
    /// Creates the producer; it connects lazily.
    pub fn new(kafka: &KafkaConfig) -> Result<Self, KafkaError> {
        Ok(Self {
            inner: super::client_config::producer(kafka).create()?,
        })
    }

    /// Publishes all records and waits until the broker acknowledged every one
    /// of them. Records are sent concurrently; the first failure is returned
    /// after all deliveries settled, so the caller can retry the whole set
    /// (the producer is idempotent; a retried record may appear twice only if
    /// the first attempt's acknowledgement was lost).
    pub async fn send_all(&self, records: &[OutgoingRecord]) -> Result<(), KafkaError> {
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
            self.inner.send(message, Duration::from_secs(30))
        });
        let mut first_error = None;
        for result in futures::future::join_all(deliveries).await {
            if let Err((error, _)) = result {
                first_error.get_or_insert(error);
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}
