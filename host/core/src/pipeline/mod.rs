//! One pipeline: a consumer group member, a worker per assigned partition, and
//! the coordination between them (rebalances, shutdown, progress).

pub mod chain;
pub mod coalesce;
pub mod cpu_priority;
pub mod dead_letter;
pub mod deploy;
pub mod operator_pause;
pub mod progress;
pub mod redrive;
pub mod replay;
pub mod running;
pub mod state_topics;
pub mod stats;
pub mod topic_formats;
pub mod topic_plan;
pub mod worker;

use topic_formats::TopicFormats;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaError;
use rdkafka::util::DefaultRuntime;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use self::chain::{ChainError, PluginChain};
use self::operator_pause::OperatorPause;
use self::progress::{ProgressLine, Sampler};
use self::stats::PipelineStats;
use self::worker::{PartitionWorker, WorkerExit, WorkerShared};
use crate::capabilities::state::StateShards;
use crate::config::{KafkaConfig, PipelineConfig, StatusConfig};
use crate::kafka::client_config;
use crate::kafka::consumer::{
    AssignedPartition, PipelineConsumer, PipelineContext, RebalanceEvent, commit_stored, spawn_driver,
};
use crate::kafka::partition_pause::PartitionPause;
use crate::kafka::producer::Producer;
use crate::metrics::Families;
use crate::runtime::PluginSlot;

/// Why a pipeline ended with an error.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The consumer could not be created or subscribed.
    #[error("pipeline {pipeline}: kafka: {source}")]
    Kafka {
        pipeline: String,
        #[source]
        source: KafkaError,
    },
    /// The consumer's driver thread could not start.
    #[error("pipeline {pipeline}: cannot start consumer thread: {source}")]
    Thread {
        pipeline: String,
        #[source]
        source: std::io::Error,
    },
    /// The runtime for the pipeline's `nice` value could not start.
    #[error("pipeline {pipeline}: cannot start the threads for nice = {nice}: {source}")]
    Priority {
        pipeline: String,
        nice: u8,
        #[source]
        source: std::io::Error,
    },
    /// Its plugins keep state, and its topics are not co-partitioned
    /// ([`state_topics`]).
    #[error("pipeline {pipeline}: {reason}")]
    StateTopics { pipeline: String, reason: String },
    /// A plugin failed beyond its retries and the policy is `stop`.
    #[error("pipeline {pipeline} stopped: {source}")]
    Stopped {
        pipeline: String,
        #[source]
        source: ChainError,
    },
}

type PartitionKey = (String, i32);

struct WorkerHandle {
    stop: CancellationToken,
    task: JoinHandle<()>,
    next_offset: Arc<AtomicI64>,
}

/// A configured pipeline, ready to run.
pub struct Pipeline {
    config: PipelineConfig,
    kafka: KafkaConfig,
    plugins: Vec<Arc<PluginSlot>>,
    producer: Producer,
    status: StatusConfig,
    stats: Arc<PipelineStats>,
    operator_pause: OperatorPause,
    formats: Arc<TopicFormats>,
    /// The state its plugins keep, per partition this process owns.
    state: Arc<StateShards>,
}

impl Pipeline {
    /// A pipeline running `plugins` (in the order of `config.plugins`),
    /// decoding its topics in `formats`, counting into `families`.
    pub fn new(
        config: PipelineConfig,
        kafka: KafkaConfig,
        plugins: Vec<Arc<PluginSlot>>,
        producer: Producer,
        status: StatusConfig,
        families: &Families,
        formats: Arc<TopicFormats>,
    ) -> Self {
        let stats = Arc::new(PipelineStats::new(&config.name, families));
        let state = Arc::new(StateShards::new(&config.group_id));
        Self {
            config,
            kafka,
            plugins,
            producer,
            status,
            stats,
            operator_pause: OperatorPause::default(),
            formats,
            state,
        }
    }

    /// The pipeline's counters, shared with the admin interface's `/metrics`.
    pub fn stats(&self) -> Arc<PipelineStats> {
        self.stats.clone()
    }

    /// The operator's pauses, shared with the admin interface.
    pub fn operator_pause(&self) -> OperatorPause {
        self.operator_pause.clone()
    }

    /// The pipeline's plugins, in order.
    pub fn plugins(&self) -> &[Arc<PluginSlot>] {
        &self.plugins
    }

    /// The pipeline's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Capability calls of this pipeline's plugins refused by their grants (counted per
    /// plugin version, across the pipelines that share it).
    fn denied(&self) -> u64 {
        self.plugins.iter().map(|slot| slot.current().denied()).sum()
    }

    /// Refuses to start when its plugins keep state and its topics cannot
    /// share it ([`state_topics::check`]); the partition counts come from
    /// the broker.
    async fn check_state_topics(
        &self,
        consumer: &Arc<PipelineConsumer>,
        strategy: Option<&str>,
    ) -> Result<(), PipelineError> {
        let stateful: Vec<String> = self
            .plugins
            .iter()
            .filter(|slot| slot.current().keeps_state())
            .map(|slot| slot.name().to_string())
            .collect();
        let topics: Vec<String> = self
            .config
            .topics
            .iter()
            .chain(&self.config.order_topics)
            .cloned()
            .collect();
        if stateful.is_empty() || topics.len() < 2 {
            return Ok(());
        }
        let reader = consumer.clone();
        let asked = topics.clone();
        let partitions = tokio::task::spawn_blocking(move || {
            asked
                .iter()
                .map(|topic| {
                    let metadata = reader.fetch_metadata(Some(topic), Duration::from_secs(10)).ok()?;
                    let found = metadata.topics().iter().find(|found| found.name() == topic)?;
                    (found.error().is_none() && !found.partitions().is_empty()).then(|| found.partitions().len() as i32)
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default();
        state_topics::check(&stateful, &topics, strategy, &partitions).map_err(|reason| PipelineError::StateTopics {
            pipeline: self.config.name.clone(),
            reason,
        })
    }

    /// How long a revoke waits for in-flight batches: one call of every plugin
    /// (retries are abandoned on revoke) plus slack for dead letters.
    fn revoke_timeout(&self) -> Duration {
        let plugin_time: u64 = self
            .plugins
            .iter()
            .map(|slot| slot.current().limits().batch_timeout_ms)
            .sum();
        Duration::from_millis(plugin_time + 10_000)
    }

    /// Consumes until `shutdown`, then finishes in-flight batches, commits and
    /// leaves the group.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), PipelineError> {
        let name = self.config.name.clone();
        let kafka_error = |source| PipelineError::Kafka {
            pipeline: name.clone(),
            source,
        };
        let (events_tx, mut events_rx) = unbounded_channel();
        let context = PipelineContext::new(&name, events_tx, self.revoke_timeout());
        let consumer_config = client_config::consumer(&self.kafka, &self.config).map_err(kafka_error)?;
        let strategy = consumer_config.get("partition.assignment.strategy").map(str::to_string);
        let consumer: Arc<PipelineConsumer> = Arc::new(
            consumer_config
                .create_with_context::<_, rdkafka::consumer::StreamConsumer<PipelineContext, DefaultRuntime>>(context)
                .map_err(kafka_error)?,
        );
        consumer.context().attach(&consumer);
        let topics: Vec<&str> = self
            .config
            .topics
            .iter()
            .chain(&self.config.order_topics)
            .map(String::as_str)
            .collect();
        self.check_state_topics(&consumer, strategy.as_deref()).await?;
        consumer.subscribe(&topics).map_err(kafka_error)?;
        tracing::info!(pipeline = %name, group = %self.config.group_id, ?topics, "pipeline started");
        // What the shutdown report names if this pipeline holds it up.
        let part = crate::shutdown::progress().start(format!("pipeline {name}"), "consuming");

        let runtime = cpu_priority::runtime_for(self.config.nice).map_err(|source| PipelineError::Priority {
            pipeline: name.clone(),
            nice: self.config.nice,
            source,
        })?;
        let stats = self.stats.clone();
        let shared = Arc::new(WorkerShared {
            runtime,
            pipeline: name.clone(),
            batch: self.config.batch.clone(),
            consumer: consumer.clone(),
            producer: self.producer.clone(),
            stats: stats.clone(),
            order_topics: self.config.order_topics.clone(),
            formats: self.formats.clone(),
            events: self.config.events.clone(),
            coalesce: self.config.coalesce,
        });
        let driver_stop = CancellationToken::new();
        let driver = spawn_driver(consumer.clone(), name.clone(), driver_stop.clone()).map_err(|source| {
            PipelineError::Thread {
                pipeline: name.clone(),
                source,
            }
        })?;

        let (exit_tx, mut exit_rx) = unbounded_channel::<(PartitionKey, WorkerExit)>();
        let mut workers: HashMap<PartitionKey, WorkerHandle> = HashMap::new();
        let every = |ms: u64| (ms > 0).then(|| Duration::from_millis(ms));
        let mut progress_line = ProgressLine::new(&name, every(self.status.interval_ms));
        let mut sampler = Sampler::new(every(self.status.sample_interval_ms));
        let mut failure = None;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                Some(event) = events_rx.recv() => self.handle_rebalance(event, &shared, &mut workers, &exit_tx).await,
                Some((key, exit)) = exit_rx.recv() => {
                    if let WorkerExit::Failed(error) = exit {
                        tracing::error!(pipeline = %name, topic = %key.0, partition = key.1, %error, "stopping the pipeline (failure policy: stop)");
                        failure = Some(error);
                        break;
                    }
                }
                _ = progress_line.tick() => progress_line.report(&stats, self.denied(), workers.len()),
                _ = sampler.tick() => sampler.sample(&stats, &consumer, positions(&workers)),
            }
        }

        // Stop polling first; keep answering rebalance callbacks meanwhile so a
        // callback that is already waiting cannot deadlock the shutdown.
        part.doing("stopping its consumer's poll thread");
        driver_stop.cancel();
        let mut driver_done = tokio::task::spawn_blocking(move || driver.join());
        loop {
            tokio::select! {
                _ = &mut driver_done => break,
                Some(event) = events_rx.recv() => self.handle_rebalance(event, &shared, &mut workers, &exit_tx).await,
            }
        }
        part.doing("finishing in-flight batches");
        stop_workers(std::mem::take(&mut workers)).await;
        // The synchronous commit and the consumer's close wait for the
        // broker, without limit when it stopped answering: both run on
        // blocking threads, never on a runtime worker, and the shutdown's
        // bound (crate::shutdown) ends the process if they do not return.
        part.doing("committing offsets");
        let committing = (consumer.clone(), name.clone());
        let _ = tokio::task::spawn_blocking(move || commit_stored(committing.0.as_ref(), &committing.1)).await;
        let total = stats.snapshot();
        tracing::info!(pipeline = %name, events = total.events, batches = total.batches, dead_letters = total.dead_letters, "pipeline totals");
        drop(events_rx);
        drop(shared);
        // Closing the consumer leaves the group.
        part.doing("closing its consumer");
        let _ = tokio::task::spawn_blocking(move || drop(consumer)).await;
        drop(part);
        tracing::info!(pipeline = %name, "pipeline stopped; offsets committed");
        match failure {
            Some(source) => Err(PipelineError::Stopped { pipeline: name, source }),
            None => Ok(()),
        }
    }

    async fn handle_rebalance(
        &self,
        event: RebalanceEvent,
        shared: &Arc<WorkerShared>,
        workers: &mut HashMap<PartitionKey, WorkerHandle>,
        exit_tx: &UnboundedSender<(PartitionKey, WorkerExit)>,
    ) {
        match event {
            RebalanceEvent::Assigned(partitions) => {
                for AssignedPartition {
                    topic,
                    partition,
                    queue,
                } in partitions
                {
                    let key = (topic.clone(), partition);
                    if let Some(old) = workers.remove(&key) {
                        stop_workers(HashMap::from([(key.clone(), old)])).await;
                    }
                    let stop = CancellationToken::new();
                    let next_offset = Arc::new(AtomicI64::new(-1));
                    let pause = PartitionPause::new(shared.consumer.clone(), &topic, partition);
                    let chain = PluginChain::new(
                        &self.config.name,
                        &self.plugins,
                        self.config.failure.clone(),
                        shared.stats.clone(),
                        Some(pause.clone()),
                        Some(self.state.clone()),
                    );
                    let worker = PartitionWorker::new(
                        shared.clone(),
                        topic,
                        partition,
                        queue,
                        chain,
                        stop.clone(),
                        next_offset.clone(),
                        self.operator_pause.subscribe(),
                        pause,
                    );
                    let exit_tx = exit_tx.clone();
                    let exit_key = key.clone();
                    let task = shared.runtime.spawn(async move {
                        let exit = worker.run().await;
                        let _ = exit_tx.send((exit_key, exit));
                    });
                    workers.insert(
                        key,
                        WorkerHandle {
                            stop,
                            task,
                            next_offset,
                        },
                    );
                }
            }
            RebalanceEvent::Revoked { partitions, done } => {
                let revoked = partitions
                    .into_iter()
                    .filter_map(|key| workers.remove_entry(&key))
                    .collect();
                stop_workers(revoked).await;
                let _ = done.send(());
            }
        }
    }
}

/// Tells the workers to stop after their in-flight batch and waits for them.
async fn stop_workers(workers: HashMap<PartitionKey, WorkerHandle>) {
    for handle in workers.values() {
        handle.stop.cancel();
    }
    for ((topic, partition), handle) in workers {
        if let Err(error) = handle.task.await {
            tracing::error!(%topic, partition, %error, "partition worker panicked");
        }
    }
}

/// Each assigned partition with the offset after its last finished batch.
fn positions(workers: &HashMap<PartitionKey, WorkerHandle>) -> Vec<progress::Position> {
    workers
        .iter()
        .map(|((topic, partition), handle)| (topic.clone(), *partition, handle.next_offset.load(Ordering::Relaxed)))
        .collect()
}
