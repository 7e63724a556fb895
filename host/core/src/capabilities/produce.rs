//! The `produce` capability: plugins publish records to the topics they are
//! granted, through the host's one shared idempotent producer. A call returns
//! when the broker has acknowledged every record, so a batch is only done
//! (and its offsets stored) once its output is in Kafka.

use std::sync::Arc;
use std::time::Duration;

use super::grants::TopicGrants;
use super::shadow::Shadow;
use crate::bindings::produce::{Message, ProduceError};
use crate::kafka::producer::{OutgoingRecord, Producer};
use crate::metrics::labels::Capability;
use crate::metrics::usage::CallMeter;

/// Most records one call may carry.
pub const MAX_MESSAGES_PER_CALL: usize = 100_000;
/// Largest payload of one record (librdkafka's default `message.max.bytes`
/// is 1 MB; records above it would fail at the broker anyway).
pub const MAX_PAYLOAD_BYTES: usize = 1_000_000;

/// One instance's view of the producer.
pub struct ProduceCapability {
    grants: Arc<TopicGrants>,
    producer: Option<Producer>,
    timeout: Duration,
    runtime: tokio::runtime::Handle,
    meter: Arc<CallMeter>,
    /// Where the records go instead, in a replay.
    shadow: Option<Arc<Shadow>>,
}

impl ProduceCapability {
    /// A capability limited by `grants`; a call waits at most `timeout` for
    /// the acknowledgements; calls, refusals and quotas are counted in
    /// `meter`. Must be created inside the tokio runtime whose handle it
    /// keeps.
    pub fn new(
        grants: Arc<TopicGrants>,
        producer: Option<Producer>,
        timeout: Duration,
        meter: Arc<CallMeter>,
        shadow: Option<Arc<Shadow>>,
    ) -> Self {
        Self {
            grants,
            producer,
            timeout,
            runtime: tokio::runtime::Handle::current(),
            meter,
            shadow,
        }
    }

    /// Checks every record, then publishes them all and waits for the acks.
    pub fn send(&self, messages: Vec<Message>) -> Result<(), ProduceError> {
        let mut call = self.meter.admit(Capability::Produce).map_err(ProduceError::Denied)?;
        call.sent(messages.iter().map(message_bytes).sum());
        if messages.len() > MAX_MESSAGES_PER_CALL {
            return Err(ProduceError::Invalid(format!(
                "{} records in one call; the limit is {MAX_MESSAGES_PER_CALL}",
                messages.len()
            )));
        }
        for message in &messages {
            if message.payload.len() > MAX_PAYLOAD_BYTES {
                return Err(ProduceError::Invalid(format!(
                    "a record for {:?} has {} payload bytes; the limit is {MAX_PAYLOAD_BYTES}",
                    message.topic,
                    message.payload.len()
                )));
            }
            if let Some(refusal) = self.grants.refusal(&message.topic) {
                self.meter.denied();
                tracing::warn!(%refusal, "produce call refused");
                return Err(ProduceError::Denied(refusal));
            }
        }
        if messages.is_empty() {
            return Ok(());
        }
        let Some(producer) = &self.producer else {
            return Err(ProduceError::Unavailable(
                "no Kafka producer in this process (fleethost check)".into(),
            ));
        };
        if let Some(shadow) = &self.shadow {
            shadow.record_produced(&messages);
        }
        let records: Vec<OutgoingRecord> = messages
            .into_iter()
            .map(|message| OutgoingRecord {
                topic: match &self.shadow {
                    Some(shadow) => shadow.topic(&message.topic),
                    None => message.topic,
                },
                key: message.key.map(String::into_bytes),
                payload: Some(message.payload),
                headers: message
                    .headers
                    .into_iter()
                    .map(|header| (header.key, header.value))
                    .collect(),
            })
            .collect();
        let timeout = self.timeout;
        let result = self.runtime.block_on(async {
            match tokio::time::timeout(timeout, producer.send_all(&records)).await {
                Ok(Ok(without_offset)) => {
                    if !without_offset.is_empty() {
                        tracing::warn!(
                            records = without_offset.len(),
                            "the broker acknowledged records as written by an earlier attempt (duplicate sequence number); their offsets are unknown"
                        );
                    }
                    Ok(())
                }
                Ok(Err(error)) => Err(ProduceError::Unavailable(format!("kafka: {error}"))),
                Err(_) => Err(ProduceError::Unavailable(format!(
                    "the broker did not acknowledge within {} ms",
                    timeout.as_millis()
                ))),
            }
        });
        if let Err(ProduceError::Unavailable(reason)) = &result {
            super::outage::note("produce", reason);
        }
        result
    }
}

/// Bytes of one record: its topic, key, payload and headers.
fn message_bytes(message: &Message) -> u64 {
    let headers: usize = message
        .headers
        .iter()
        .map(|header| header.key.len() + header.value.len())
        .sum();
    (message.topic.len() + message.key.as_ref().map_or(0, String::len) + message.payload.len() + headers) as u64
}
