//! A pipeline's consumer group member and its rebalance handling.
//!
//! The shape follows Vector's Kafka source: every assigned partition gets its
//! own queue (`split_partition_queue`), so partitions are consumed in parallel
//! and a slow partition only holds back itself. Rebalance callbacks run on a
//! dedicated driver thread, never on a tokio worker: on revoke, the callback
//! waits until the revoked partitions' workers have finished their in-flight
//! batch and stored its offset, then commits synchronously before librdkafka
//! hands the partitions to another member.

use std::sync::mpsc::{RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use rdkafka::consumer::stream_consumer::StreamPartitionQueue;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

/// The consumer of one pipeline.
pub type PipelineConsumer = StreamConsumer<PipelineContext>;

/// The queue of one assigned partition.
pub type PartitionQueue = StreamPartitionQueue<PipelineContext>;

/// A partition newly assigned to this member, with its own message queue.
pub struct AssignedPartition {
    /// Topic of the partition.
    pub topic: String,
    /// Partition number.
    pub partition: i32,
    /// The partition's messages, in offset order.
    pub queue: PartitionQueue,
}

/// What the consumer's rebalance callbacks tell the pipeline.
pub enum RebalanceEvent {
    /// Partitions to start consuming.
    Assigned(Vec<AssignedPartition>),
    /// Partitions to stop consuming: finish or drop their in-flight batch, then
    /// send on `done`. The callback waits for it (up to the revoke timeout)
    /// before committing and letting the rebalance go on.
    Revoked {
        partitions: Vec<(String, i32)>,
        done: SyncSender<()>,
    },
}

/// Consumer context carrying the rebalance hooks of one pipeline.
pub struct PipelineContext {
    pipeline: String,
    consumer: OnceLock<Weak<PipelineConsumer>>,
    events: UnboundedSender<RebalanceEvent>,
    revoke_timeout: Duration,
}

impl PipelineContext {
    /// A context that reports rebalances on `events` and waits at most
    /// `revoke_timeout` for revoked partitions to finish.
    pub fn new(pipeline: &str, events: UnboundedSender<RebalanceEvent>, revoke_timeout: Duration) -> Self {
        Self {
            pipeline: pipeline.to_string(),
            consumer: OnceLock::new(),
            events,
            revoke_timeout,
        }
    }

    /// Lets the context split partition queues off its consumer; call once,
    /// right after creating the consumer and before subscribing.
    pub fn attach(&self, consumer: &Arc<PipelineConsumer>) {
        let _ = self.consumer.set(Arc::downgrade(consumer));
    }
}

impl ClientContext for PipelineContext {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(pipeline = %self.pipeline, %error, reason, "kafka client error");
    }
}

impl ConsumerContext for PipelineContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(list) = rebalance else {
            return;
        };
        let partitions = topic_partitions(list);
        tracing::info!(pipeline = %self.pipeline, ?partitions, "partitions revoked; finishing in-flight batches");
        let (done, finished) = sync_channel(1);
        if self.events.send(RebalanceEvent::Revoked { partitions, done }).is_ok() {
            match finished.recv_timeout(self.revoke_timeout) {
                Ok(()) | Err(RecvTimeoutError::Disconnected) => {}
                Err(RecvTimeoutError::Timeout) => tracing::warn!(
                    pipeline = %self.pipeline,
                    timeout_ms = self.revoke_timeout.as_millis() as u64,
                    "revoked partitions did not finish in time; their uncommitted events will be redelivered"
                ),
            }
        }
        commit_stored(consumer, &self.pipeline);
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(list) => {
                let Some(consumer) = self.consumer.get().and_then(Weak::upgrade) else {
                    tracing::error!(pipeline = %self.pipeline, "partitions assigned before the consumer was attached");
                    return;
                };
                let mut assigned = Vec::new();
                for (topic, partition) in topic_partitions(list) {
                    match consumer.split_partition_queue(&topic, partition) {
                        Some(queue) => assigned.push(AssignedPartition {
                            topic,
                            partition,
                            queue,
                        }),
                        None => {
                            tracing::error!(pipeline = %self.pipeline, %topic, partition, "cannot split partition queue")
                        }
                    }
                }
                tracing::info!(
                    pipeline = %self.pipeline,
                    partitions = ?assigned.iter().map(|a| (a.topic.as_str(), a.partition)).collect::<Vec<_>>(),
                    "partitions assigned"
                );
                let _ = self.events.send(RebalanceEvent::Assigned(assigned));
            }
            Rebalance::Revoke(_) => {}
            Rebalance::Error(error) => {
                tracing::error!(pipeline = %self.pipeline, %error, "rebalance failed")
            }
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        match result {
            Ok(()) => tracing::debug!(pipeline = %self.pipeline, ?offsets, "offsets committed"),
            Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(error) => {
                tracing::warn!(pipeline = %self.pipeline, %error, "offset commit failed; will retry")
            }
        }
    }
}

fn topic_partitions(list: &TopicPartitionList) -> Vec<(String, i32)> {
    list.elements()
        .iter()
        .map(|element| (element.topic().to_string(), element.partition()))
        .collect()
}

/// Commits the stored offsets synchronously; "nothing to commit" is not an error.
pub fn commit_stored<C: ConsumerContext, K: Consumer<C>>(consumer: &K, pipeline: &str) {
    match consumer.commit_consumer_state(CommitMode::Sync) {
        Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
        Err(error) => tracing::warn!(%pipeline, %error, "synchronous offset commit failed"),
    }
}

/// Polls the consumer's main queue on a dedicated thread until `stop`, so that
/// rebalance callbacks (which block while revoked partitions finish) never
/// occupy a tokio worker.
///
/// With every partition split off, the main queue carries only events and
/// errors. A message can still reach it when librdkafka fetched it before the
/// split took effect; the partition is then rewound to that message so its
/// worker sees it in order (a few events may be processed twice, never lost).
pub fn spawn_driver(
    consumer: Arc<PipelineConsumer>,
    pipeline: String,
    stop: CancellationToken,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let runtime = tokio::runtime::Handle::current();
    std::thread::Builder::new()
        .name(format!("kafka-{pipeline}"))
        .spawn(move || {
            runtime.block_on(async {
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        message = consumer.recv() => match message {
                            Ok(message) => {
                                let (topic, partition, offset) =
                                    (message.topic().to_string(), message.partition(), message.offset());
                                drop(message);
                                tracing::warn!(%pipeline, %topic, partition, offset, "message on the main queue; rewinding the partition");
                                if let Err(error) = consumer.seek(&topic, partition, Offset::Offset(offset), Duration::from_secs(5)) {
                                    tracing::error!(%pipeline, %topic, partition, offset, %error, "cannot rewind partition");
                                }
                            }
                            Err(error) => tracing::warn!(%pipeline, %error, "consumer error"),
                        },
                    }
                }
            });
        })
}
