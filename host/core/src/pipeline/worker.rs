//! The worker of one assigned partition: it forms batches from the partition's
//! queue, runs them through the plugin chain, dead-letters what failed, and
//! only then stores the offset past the batch. Batches of one partition are
//! processed strictly in order, so a stored offset never passes an event that
//! is not done.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use rdkafka::Message;
use rdkafka::consumer::Consumer;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::chain::{ChainError, PluginChain};
use super::dead_letter::{Failure, RawRecord, Source, dead_letter};
use super::operator_pause::PausedPartitions;
use super::stats::PipelineStats;
use crate::config::{BatchConfig, Coalesce, EventsConfig, PayloadFormat};
use crate::kafka::consumer::{PartitionQueue, PipelineConsumer};
use crate::kafka::partition_pause::{PartitionPause, PauseReason};
use crate::kafka::producer::Producer;
use crate::runtime::{Batch, Event, OrderEvent, OrderKind, Point};
use fleethost_event::location::{DecodeError, Location};
use fleethost_event::order::{Order, OrderStep};

/// Longest pause between two attempts to write dead letters while Kafka
/// refuses them.
const MAX_DEAD_LETTER_BACKOFF: Duration = Duration::from_secs(5);

/// What every worker of a pipeline shares.
pub struct WorkerShared {
    /// Pipeline name.
    pub pipeline: String,
    /// Batch limits.
    pub batch: BatchConfig,
    /// The consumer, to store offsets.
    pub consumer: Arc<PipelineConsumer>,
    /// The producer for dead letters.
    pub producer: Producer,
    /// The pipeline's counters.
    pub stats: Arc<PipelineStats>,
    /// Topics whose records are order events rather than locations.
    pub order_topics: Vec<String>,
    /// How each topic's payloads are encoded.
    pub formats: Arc<super::topic_formats::TopicFormats>,
    /// Bounds every decoded event is held to (event time, speed, heading).
    pub events: EventsConfig,
    /// Whether a batch's superseded fixes are left out.
    pub coalesce: Coalesce,
    /// Where the partition workers run: the runtime of the pipeline's `nice`
    /// value (see [`super::cpu_priority`]).
    pub runtime: tokio::runtime::Handle,
}

/// One partition's worker.
pub struct PartitionWorker {
    shared: Arc<WorkerShared>,
    topic: String,
    partition: i32,
    queue: PartitionQueue,
    chain: PluginChain,
    stop: CancellationToken,
    next_offset: Arc<AtomicI64>,
    /// The operator's pauses of the pipeline.
    operator: tokio::sync::watch::Receiver<PausedPartitions>,
    /// The partition's fetching, paused while the operator's pause covers it.
    pause: PartitionPause,
}

/// How a worker ended.
#[derive(Debug)]
pub enum WorkerExit {
    /// Stopped on request after finishing its in-flight batch (or abandoning
    /// it, uncommitted, when its retries were interrupted).
    Stopped,
    /// A plugin failed beyond its retries under the `stop` policy.
    Failed(ChainError),
}

impl PartitionWorker {
    /// A worker for `topic`/`partition`; `next_offset` reports progress (the
    /// offset after the last finished batch, -1 before the first). It stops
    /// fetching through `pause` while `operator` covers its partition.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        shared: Arc<WorkerShared>,
        topic: String,
        partition: i32,
        queue: PartitionQueue,
        chain: PluginChain,
        stop: CancellationToken,
        next_offset: Arc<AtomicI64>,
        operator: tokio::sync::watch::Receiver<PausedPartitions>,
        pause: PartitionPause,
    ) -> Self {
        Self {
            shared,
            topic,
            partition,
            queue,
            chain,
            stop,
            next_offset,
            operator,
            pause,
        }
    }

    /// Runs until stopped or failed.
    pub async fn run(mut self) -> WorkerExit {
        let exit = self.run_batches().await;
        self.set_operator_pause(false);
        exit
    }

    async fn run_batches(&mut self) -> WorkerExit {
        loop {
            if !self.wait_while_paused().await {
                return WorkerExit::Stopped;
            }
            let Some(records) = self.next_batch().await else {
                if self.stop.is_cancelled() {
                    return WorkerExit::Stopped;
                }
                // The operator paused the partition before a message came.
                continue;
            };
            match self.process(records).await {
                Ok(()) => {}
                Err(ChainError::Cancelled) => return WorkerExit::Stopped,
                Err(error) => return WorkerExit::Failed(error),
            }
            if self.stop.is_cancelled() {
                return WorkerExit::Stopped;
            }
        }
    }

    /// While the operator's pause covers the partition, keeps its fetching
    /// paused and waits; `false` when told to stop meanwhile.
    async fn wait_while_paused(&mut self) -> bool {
        loop {
            let paused = self.operator.borrow_and_update().covers(self.partition);
            self.set_operator_pause(paused);
            if !paused {
                return true;
            }
            tokio::select! {
                _ = self.stop.cancelled() => return false,
                changed = self.operator.changed() => if changed.is_err() {
                    // The pipeline is gone; its stop follows.
                    return !self.stop.is_cancelled();
                },
            }
        }
    }

    /// Pauses or resumes the partition's fetching for the operator, counted
    /// in the pipeline's stats and logged.
    fn set_operator_pause(&self, paused: bool) {
        let (pipeline, topic, partition) = (&self.shared.pipeline, &self.topic, self.partition);
        let changed = if paused {
            self.pause.pause(PauseReason::Operator)
        } else {
            self.pause.resume(PauseReason::Operator)
        };
        match changed {
            Ok(true) if paused => {
                self.shared.stats.paused_by_operator.fetch_add(1, Ordering::Relaxed);
                tracing::info!(%pipeline, %topic, partition, next_offset = self.next_offset.load(Ordering::Relaxed), "paused by the operator");
            }
            Ok(true) => {
                self.shared.stats.paused_by_operator.fetch_sub(1, Ordering::Relaxed);
                tracing::info!(%pipeline, %topic, partition, "resumed by the operator");
            }
            Ok(false) => {}
            Err(error) => tracing::warn!(
                %pipeline, %topic, partition, %error, paused,
                "cannot change the partition's fetching for the operator's pause"
            ),
        }
    }

    /// Waits for the first message, then collects until the batch is full, its
    /// wait is over, the operator pauses the partition, or the worker is told
    /// to stop (the partial batch is then still processed). `None` when
    /// stopped or paused before any message arrived.
    async fn next_batch(&mut self) -> Option<Vec<RawRecord>> {
        let mut records = Vec::new();
        let first = loop {
            tokio::select! {
                biased;
                _ = self.stop.cancelled() => return None,
                Ok(()) = self.operator.changed() => {
                    if self.operator.borrow().covers(self.partition) {
                        return None;
                    }
                }
                message = self.queue.recv() => match message {
                    Ok(message) => break raw_record(&message),
                    Err(error) => self.log_consume_error(&error),
                },
            }
        };
        records.push(first);
        let deadline = Instant::now() + Duration::from_millis(self.shared.batch.max_wait_ms);
        while records.len() < self.shared.batch.max_events {
            tokio::select! {
                biased;
                _ = self.stop.cancelled() => break,
                Ok(()) = self.operator.changed() => {
                    if self.operator.borrow().covers(self.partition) {
                        break;
                    }
                }
                _ = tokio::time::sleep_until(deadline) => break,
                message = self.queue.recv() => match message {
                    Ok(message) => records.push(raw_record(&message)),
                    Err(error) => self.log_consume_error(&error),
                },
            }
        }
        Some(records)
    }

    fn log_consume_error(&self, error: &rdkafka::error::KafkaError) {
        tracing::warn!(pipeline = %self.shared.pipeline, topic = %self.topic, partition = self.partition, %error, "consume error");
    }

    /// Decodes, runs the chain, dead-letters failures, stores the offset.
    async fn process(&mut self, records: Vec<RawRecord>) -> Result<(), ChainError> {
        let source = Source {
            pipeline: &self.shared.pipeline,
            topic: &self.topic,
            partition: self.partition,
        };
        let mut failed: Vec<(usize, Failure)> = Vec::new();
        let mut batch = Batch {
            pipeline: self.shared.pipeline.clone(),
            topic: self.topic.clone(),
            partition: self.partition,
            events: Vec::new(),
            orders: Vec::new(),
        };
        // Index in `records` of each record that made it into the batch.
        let mut batch_records = Vec::with_capacity(records.len());
        let carries_orders = self.shared.order_topics.contains(&self.topic);
        let formats = &self.shared.formats;
        formats
            .learn_unknown(&self.topic, records.iter().map(|record| record.payload.as_deref()))
            .await;
        let format = formats.of(&self.topic);
        for (index, record) in records.iter().enumerate() {
            let decoded = decode_into(
                &mut batch,
                format,
                carries_orders,
                record.payload.as_deref(),
                record.timestamp_ms,
                record.offset,
                &self.shared.events,
            );
            match decoded {
                Ok(()) => batch_records.push(index),
                Err(error) => failed.push((index, decode_failure(&error))),
            }
        }
        if self.shared.coalesce == Coalesce::LatestPerKey && !batch.events.is_empty() {
            let superseded = super::coalesce::superseded(&batch.events);
            let count = superseded.iter().filter(|superseded| **superseded).count();
            if count > 0 {
                batch.drop_records(&superseded);
                batch_records = super::chain::without(batch_records, &superseded);
                self.shared.stats.record_coalesced(count);
            }
        }
        if !batch_records.is_empty() {
            let chain_failures = self.chain.run(batch, &self.stop).await?;
            failed.extend(
                chain_failures
                    .into_iter()
                    .map(|(batch_index, failure)| (batch_records[batch_index], failure)),
            );
        }
        if !failed.is_empty() {
            failed.sort_by_key(|(index, _)| *index);
            let dead_letters: Vec<_> = failed
                .iter()
                .map(|(index, failure)| dead_letter(source, &records[*index], failure))
                .collect();
            self.send_dead_letters(&dead_letters).await?;
        }
        let last_offset = records.last().map_or(-1, |record| record.offset);
        let next_offset = last_offset + 1;
        // `store_offset` takes the last *processed* offset and stores the one
        // after it (librdkafka's `rd_kafka_offset_store` semantics).
        if let Err(error) = self
            .shared
            .consumer
            .store_offset(&self.topic, self.partition, last_offset)
        {
            // The partition was revoked meanwhile; its new owner redelivers the batch.
            tracing::warn!(pipeline = %self.shared.pipeline, topic = %self.topic, partition = self.partition, %error, "cannot store offset");
        }
        self.next_offset.store(next_offset, Ordering::Relaxed);
        let dead_letter_kinds: Vec<&str> = failed.iter().map(|(_, failure)| failure.kind).collect();
        self.shared.stats.record_batch(records.len(), &dead_letter_kinds);
        Ok(())
    }

    /// Writes the dead letters, retrying until Kafka acknowledges all of them:
    /// the offset must not move past a message that is neither processed nor
    /// dead-lettered.
    async fn send_dead_letters(&self, records: &[crate::kafka::producer::OutgoingRecord]) -> Result<(), ChainError> {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.shared.producer.send_all(records).await {
                Ok(without_offset) => {
                    for index in without_offset {
                        self.log_acknowledged_as_duplicate(&records[index]);
                    }
                    return Ok(());
                }
                Err(error) => tracing::error!(
                    pipeline = %self.shared.pipeline, topic = %self.topic, partition = self.partition,
                    count = records.len(), %error, "cannot write dead letters; the partition waits and retries"
                ),
            }
            tokio::select! {
                _ = self.stop.cancelled() => return Err(ChainError::Cancelled),
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(MAX_DEAD_LETTER_BACKOFF);
        }
    }

    /// A dead letter the broker acknowledged as written by an earlier
    /// attempt: delivered as far as Kafka is concerned, but with no offset
    /// to show for it, so it is named here (a broker that lost the earlier
    /// write but kept its sequence number lost this dead letter).
    fn log_acknowledged_as_duplicate(&self, record: &crate::kafka::producer::OutgoingRecord) {
        let header = |name: &str| {
            record
                .headers
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| String::from_utf8_lossy(value).into_owned())
                .unwrap_or_default()
        };
        tracing::warn!(
            pipeline = %self.shared.pipeline,
            dead_letter_topic = %record.topic,
            source_partition = %header(super::dead_letter::HEADER_SOURCE_PARTITION),
            source_offset = %header(super::dead_letter::HEADER_SOURCE_OFFSET),
            "dead letter acknowledged as written by an earlier attempt (duplicate sequence number); its offset is unknown"
        );
    }
}

fn raw_record(message: &rdkafka::message::BorrowedMessage<'_>) -> RawRecord {
    RawRecord {
        offset: message.offset(),
        key: message.key().map(<[u8]>::to_vec),
        payload: message.payload().map(<[u8]>::to_vec),
        timestamp_ms: message.timestamp().to_millis(),
    }
}

fn decode_failure(error: &DecodeError) -> Failure {
    Failure {
        kind: error.kind(),
        reason: error.to_string(),
        plugin: None,
    }
}

/// Decodes one record (at `offset` of the batch's partition, in its topic's
/// `format`) into `batch`: an order event when its topic carries orders, a
/// location fix otherwise, held to the pipeline's `events` bounds.
pub(super) fn decode_into(
    batch: &mut Batch,
    format: &PayloadFormat,
    carries_orders: bool,
    payload: Option<&[u8]>,
    timestamp_ms: Option<i64>,
    offset: i64,
    events: &EventsConfig,
) -> Result<(), DecodeError> {
    if carries_orders {
        format
            .decode_order(payload, timestamp_ms, events)
            .map(|order| batch.orders.push(wit_order(order, offset)))
    } else {
        format
            .decode_location(payload, timestamp_ms, events)
            .map(|location| batch.events.push(wit_event(location, offset)))
    }
}

/// An order as the WIT world carries it, at `offset` of its partition.
pub(crate) fn wit_order(order: Order, offset: i64) -> OrderEvent {
    let point = |(latitude, longitude)| Point { latitude, longitude };
    OrderEvent {
        order_id: order.order_id,
        driver_id: order.driver_id,
        kind: match order.step {
            OrderStep::Assigned => OrderKind::Assigned,
            OrderStep::PickedUp => OrderKind::PickedUp,
            OrderStep::Delivered => OrderKind::Delivered,
            OrderStep::Cancelled => OrderKind::Cancelled,
        },
        pickup: order.pickup.map(point),
        dropoff: order.dropoff.map(point),
        timestamp_ms: order.timestamp_ms,
        offset,
    }
}

/// A location fix as the WIT world carries it, at `offset` of its partition.
pub(crate) fn wit_event(location: Location, offset: i64) -> Event {
    Event {
        driver_id: location.driver_id,
        latitude: location.latitude,
        longitude: location.longitude,
        timestamp_ms: location.timestamp_ms,
        region: location.region,
        order_id: location.order_id,
        speed: location.speed,
        heading: location.heading,
        offset,
    }
}
