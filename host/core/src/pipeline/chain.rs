//! The plugin chain of one partition worker: each batch goes through the
//! pipeline's plugins in order, under the pipeline's failure policy.
//!
//! A failed call costs the instance, never the host: after a trap or timeout
//! the instance is dropped and a fresh one is built for the retry. When the
//! retries are used up, the pipeline stops, or (`dead-letter`) the batch is
//! split to find the events that fail on their own: only those are
//! dead-lettered. Only the host's own finding that a backend is unavailable
//! makes a batch wait without end; every other failure ends in the policy.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::dead_letter::Failure;
use super::stats::PipelineStats;
use crate::bindings::kv::KvError;
use crate::capabilities::kv::backend::KvBackend;
use crate::capabilities::state::{CommitError, SharedShard, StateCall, StateShards};
use crate::config::{FailurePolicy, OnExhausted};
use crate::kafka::partition_pause::{PartitionPause, PauseReason};
use crate::runtime::recorder::RecordingSession;
use crate::runtime::{
    Batch, BatchOutcome, CallError, LoadedPlugin, PluginError, PluginInstance, PluginSlot, Rejection,
};

/// How often a partition waiting for a backend says so in the log.
const BACKEND_WAIT_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Why a chain run ended without a result for every event.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// A plugin failed beyond its retries and the policy is `stop`.
    #[error("plugin {plugin} failed the batch at offsets {first_offset}..={last_offset} after all retries: {error}")]
    Stopped {
        plugin: String,
        first_offset: i64,
        last_offset: i64,
        error: CallError,
    },
    /// Shutdown or revoke interrupted the retries; the batch is not done.
    #[error("cancelled")]
    Cancelled,
}

/// One plugin of the chain: its slot (the version new batches should use),
/// the version this worker's instance runs, and the instance.
struct Stage {
    slot: Arc<PluginSlot>,
    plugin: Arc<LoadedPlugin>,
    instance: Option<PluginInstance>,
    /// The recording this worker took up, while its instance is recorded.
    recording: Option<RecordingSession>,
    /// The plugin's state of the worker's partition, once a batch needed it.
    state: Option<HeldState>,
}

/// A stage's shard of its partition's state, with where it is kept: found
/// once, lent for every call.
struct HeldState {
    shard: SharedShard,
    store: KvBackend,
    key: String,
}

/// The plugins of one pipeline with one instance each, owned by one worker.
pub struct PluginChain {
    pipeline: String,
    stages: Vec<Stage>,
    policy: FailurePolicy,
    stats: Arc<PipelineStats>,
    /// The worker's partition, paused while a batch waits for a backend;
    /// `None` for a chain that reads no partition (a redrive).
    pause: Option<PartitionPause>,
    /// The pipeline's state shards, lent to the plugins that keep state;
    /// `None` for a chain that owns no partition (a redrive, a replay).
    state: Option<Arc<StateShards>>,
}

impl PluginChain {
    /// A chain over `plugins` for the partition `pause` stands for, whose
    /// plugins keep their state in `state`; instances are created on first
    /// use.
    pub fn new(
        pipeline: &str,
        plugins: &[Arc<PluginSlot>],
        policy: FailurePolicy,
        stats: Arc<PipelineStats>,
        pause: Option<PartitionPause>,
        state: Option<Arc<StateShards>>,
    ) -> Self {
        Self {
            pipeline: pipeline.to_string(),
            stages: plugins
                .iter()
                .map(|slot| Stage {
                    slot: slot.clone(),
                    plugin: slot.current(),
                    instance: None,
                    recording: None,
                    state: None,
                })
                .collect(),
            policy,
            stats,
            pause,
            state,
        }
    }

    /// Runs `batch` through every plugin. Returns the records that failed, by
    /// index into the batch's records (`events` or `orders`), with why; every
    /// other record is done. Records rejected by one plugin are not shown to
    /// the next.
    pub async fn run(&mut self, batch: Batch, stop: &CancellationToken) -> Result<Vec<(usize, Failure)>, ChainError> {
        let (first_offset, last_offset) = batch.offset_range();
        let mut batch = Arc::new(batch);
        // Index in the original batch of each event still in `batch`.
        let mut alive: Vec<usize> = (0..batch.len()).collect();
        let mut failures = Vec::new();
        for stage_index in 0..self.stages.len() {
            if alive.is_empty() {
                break;
            }
            // This stage's failures, by index into `batch`.
            let stage_failures = match self
                .call_with_retries(stage_index, batch.clone(), self.policy.retries, Part::Whole, stop)
                .await
            {
                Ok((outcome, label)) => self.rejections(outcome, &label, batch.len()),
                Err(ChainError::Stopped { plugin, error, .. })
                    if self.policy.on_exhausted == OnExhausted::DeadLetter =>
                {
                    // `plugin` is the version that failed (it may have changed
                    // during the retries, after a rollback).
                    let failure = Failure {
                        kind: error.kind(),
                        reason: error.to_string(),
                        plugin: Some(plugin),
                    };
                    self.isolate(stage_index, &batch, failure, stop).await?
                }
                Err(ChainError::Stopped { plugin, error, .. }) => {
                    return Err(ChainError::Stopped {
                        plugin,
                        first_offset,
                        last_offset,
                        error,
                    });
                }
                Err(ChainError::Cancelled) => return Err(ChainError::Cancelled),
            };
            if !stage_failures.is_empty() {
                let mut dropped = vec![false; alive.len()];
                for (index, failure) in stage_failures {
                    dropped[index] = true;
                    failures.push((alive[index], failure));
                }
                let mut remaining = Arc::unwrap_or_clone(batch);
                remaining.drop_records(&dropped);
                alive = without(alive, &dropped);
                batch = Arc::new(remaining);
            }
        }
        Ok(failures)
    }

    /// The events a plugin rejected, by index into the `batch_len` records it
    /// was given; indices out of range or repeated are ignored (and logged).
    fn rejections(&self, outcome: BatchOutcome, label: &str, batch_len: usize) -> Vec<(usize, Failure)> {
        let mut rejected = vec![false; batch_len];
        let mut failures = Vec::new();
        for rejection in outcome.rejected {
            let index = rejection.index as usize;
            if index >= batch_len || rejected[index] {
                tracing::warn!(pipeline = %self.pipeline, plugin = %label, index, "plugin rejected an event index it was not given; ignored");
                continue;
            }
            rejected[index] = true;
            failures.push((
                index,
                Failure {
                    kind: "rejected",
                    reason: rejection.reason,
                    plugin: Some(label.to_string()),
                },
            ));
        }
        failures
    }

    /// Finds the events of `batch` that fail stage `stage_index` on their
    /// own, after the whole batch failed with `failure` beyond its retries:
    /// each failing part is split in halves and each half tried once, round
    /// after round, until the failing parts are single events, the
    /// policy's `isolation_calls` are spent, or three rounds found no part
    /// that passes (the plugin fails everything: splitting further would
    /// only cost time). What still fails then is dead-lettered whole; the
    /// halves that passed are done for this stage, their rejections kept.
    /// Returns the failures by index into `batch`.
    async fn isolate(
        &mut self,
        stage_index: usize,
        batch: &Arc<Batch>,
        failure: Failure,
        stop: &CancellationToken,
    ) -> Result<Vec<(usize, Failure)>, ChainError> {
        /// Rounds without a passing part after which the failure is taken to
        /// be the plugin's rather than an event's.
        const ROUNDS_WITHOUT_A_PASS: u32 = 3;
        let mut failing: Vec<(Vec<usize>, Failure)> = vec![((0..batch.len()).collect(), failure)];
        let mut failed = Vec::new();
        let (mut calls, mut rounds, mut passed) = (0u32, 0u32, false);
        while !failing.is_empty() {
            if !passed && rounds >= ROUNDS_WITHOUT_A_PASS {
                break;
            }
            rounds += 1;
            let mut still_failing = Vec::new();
            for (part, failure) in std::mem::take(&mut failing) {
                if part.len() == 1 || calls >= self.policy.isolation_calls {
                    still_failing.push((part, failure));
                    continue;
                }
                let (left, right) = part.split_at(part.len() / 2);
                for half in [left, right] {
                    if calls >= self.policy.isolation_calls {
                        still_failing.push((half.to_vec(), failure.clone()));
                        continue;
                    }
                    calls += 1;
                    let sub_batch = Arc::new(batch.subset(half));
                    match self
                        .call_with_retries(stage_index, sub_batch, 0, Part::Split, stop)
                        .await
                    {
                        Ok((outcome, label)) => {
                            passed = true;
                            let rejected = self.rejections(outcome, &label, half.len());
                            failed.extend(rejected.into_iter().map(|(index, failure)| (half[index], failure)));
                        }
                        Err(ChainError::Stopped { plugin, error, .. }) => still_failing.push((
                            half.to_vec(),
                            Failure {
                                kind: error.kind(),
                                reason: error.to_string(),
                                plugin: Some(plugin),
                            },
                        )),
                        Err(ChainError::Cancelled) => return Err(ChainError::Cancelled),
                    }
                }
            }
            let (singles, parts): (Vec<_>, Vec<_>) = still_failing.into_iter().partition(|(part, _)| part.len() == 1);
            failed.extend(singles.into_iter().map(|(part, failure)| (part[0], failure)));
            if calls >= self.policy.isolation_calls {
                failed.extend(
                    parts
                        .into_iter()
                        .flat_map(|(part, failure)| part.into_iter().map(move |index| (index, failure.clone()))),
                );
                break;
            }
            failing = parts;
        }
        // Parts left when splitting stopped for want of a passing part.
        failed.extend(
            failing
                .into_iter()
                .flat_map(|(part, failure)| part.into_iter().map(move |index| (index, failure.clone()))),
        );
        if calls > 0 {
            let (first_offset, last_offset) = batch.offset_range();
            tracing::warn!(
                pipeline = %self.pipeline, plugin = self.stages[stage_index].slot.name(), partition = batch.partition,
                first_offset, last_offset, events = batch.len(), failing = failed.len(), calls, rounds,
                "isolated the events that fail on their own"
            );
        }
        Ok(failed)
    }

    /// Calls one plugin, retrying up to `retries` times with exponential
    /// backoff, on a fresh instance when the call poisoned the old one.
    /// `Stopped` means the retries are used up (the caller applies
    /// `on_exhausted`). A batch that failed because the host found a backend
    /// unavailable waits for it: retried at the backoff's pace without
    /// counting against `retries`, visibly (the pipeline's stats, a log line
    /// a minute), until it passes, fails otherwise, or the worker stops.
    async fn call_with_retries(
        &mut self,
        stage_index: usize,
        batch: Arc<Batch>,
        retries: u32,
        part: Part,
        stop: &CancellationToken,
    ) -> Result<(BatchOutcome, String), ChainError> {
        let result = self.call_until_done(stage_index, &batch, retries, part, stop).await;
        if let Some(waited) = self.stats.backend_back(&batch.topic, batch.partition) {
            tracing::info!(
                pipeline = %self.pipeline, plugin = self.stages[stage_index].slot.name(), partition = batch.partition,
                waited_s = waited.as_secs(), "no longer waiting for a backend"
            );
        }
        self.resume_fetching();
        result
    }

    /// Resumes the partition's fetching if a backend wait paused it; after
    /// every plugin call, so nothing but a flag when it was not paused.
    fn resume_fetching(&mut self) {
        let Some(pause) = self
            .pause
            .as_ref()
            .filter(|pause| pause.is_paused(PauseReason::Backend))
        else {
            return;
        };
        let resumed = pause.resume(PauseReason::Backend);
        let (topic, partition) = (pause.topic(), pause.partition());
        match resumed {
            Ok(_) => {
                self.stats.paused.fetch_sub(1, Ordering::Relaxed);
                tracing::info!(pipeline = %self.pipeline, %topic, partition, "resumed the partition's fetching");
            }
            Err(error) => tracing::warn!(
                pipeline = %self.pipeline, %topic, partition, %error, "cannot resume the partition's fetching"
            ),
        }
    }

    async fn call_until_done(
        &mut self,
        stage_index: usize,
        batch: &Arc<Batch>,
        retries: u32,
        part: Part,
        stop: &CancellationToken,
    ) -> Result<(BatchOutcome, String), ChainError> {
        let pipeline = self.pipeline.clone();
        let stats = self.stats.clone();
        let shards = self.state.clone();
        let stage = &mut self.stages[stage_index];
        let (first_offset, last_offset) = batch.offset_range();
        // Failed attempts that count against `retries`, and pauses so far
        // (backend waits included), which set the backoff.
        let (mut attempt, mut pauses): (u32, u32) = (0, 0);
        let mut switched_at = None;
        let mut last_wait_log: Option<std::time::Instant> = None;
        loop {
            // A batch starts on the slot's current version; a retry also picks
            // up a version put back after a failed reload.
            let current = stage.slot.current();
            if !Arc::ptr_eq(&current, &stage.plugin) {
                tracing::info!(
                    %pipeline, plugin = stage.slot.name(), partition = batch.partition,
                    from = stage.plugin.version(), to = current.version(), first_offset, "switching plugin version"
                );
                stage.plugin = current;
                stage.instance = None;
                if let Some(mut recording) = stage.recording.take() {
                    recording.end(format!("the plugin was reloaded ({})", stage.plugin.version()));
                }
                switched_at = Some(std::time::Instant::now());
            }
            if stage.recording.is_none() && stage.slot.recorder().is_waiting() {
                let recording = stage.slot.recorder().claim(
                    &stage.plugin,
                    &stage.slot.config(),
                    &pipeline,
                    &batch.topic,
                    batch.partition,
                );
                if recording.is_some() {
                    // The recording starts with an instance of its own.
                    stage.instance = None;
                    stage.recording = recording;
                }
            }
            let error = 'attempt: {
                // The partition's state, for a plugin that keeps some: locked for
                // the call, loaded on first use.
                let lent = match &shards {
                    Some(shards) if stage.plugin.keeps_state() => {
                        match lend_state(shards, stage, &pipeline, batch.partition, &stats).await {
                            Ok(lent) => Some(lent),
                            Err(error) => break 'attempt error,
                        }
                    }
                    _ => None,
                };
                // Records whose changes the state holds already (a batch
                // delivered again after a crash) are done for this plugin.
                let applied = lent.as_ref().and_then(|lent| lent.call.shard().applied(&batch.topic));
                let (call_batch, kept) = not_applied(batch, applied);
                if kept.is_some() {
                    stats.state_skipped(stage.slot.name(), batch.len() - call_batch.len());
                    tracing::info!(
                        %pipeline, plugin = stage.slot.name(), topic = %batch.topic, partition = batch.partition,
                        skipped = batch.len() - call_batch.len(), applied,
                        "records delivered again whose state changes are kept already; not given to the plugin again"
                    );
                }
                if call_batch.is_empty() {
                    return Ok((BatchOutcome { rejected: Vec::new() }, stage.plugin.label()));
                }
                let runtime = tokio::runtime::Handle::current();
                let state_stats = stats.clone();
                let plugin = stage.plugin.clone();
                let instance = stage.instance.take();
                let recording = stage.recording.take();
                let pipeline_name = pipeline.clone();
                // Returns the instance when it is still usable, the recording
                // while it goes on, and the call's result.
                let call = tokio::task::spawn_blocking(move || {
                    let mut recording = recording;
                    let mut instance = match instance {
                        Some(instance) => instance,
                        None => {
                            let started = std::time::Instant::now();
                            let options = recording
                                .as_ref()
                                .map(RecordingSession::instance_options)
                                .unwrap_or_default();
                            let made = plugin.instantiate_with(&pipeline_name, options);
                            if let Some(recording) = &mut recording {
                                recording.init_done(made.as_ref().map(|_| ()));
                            }
                            match made {
                                Ok(instance) => {
                                    tracing::debug!(
                                        plugin = %plugin.label(),
                                        instantiate_ms = started.elapsed().as_secs_f64() * 1000.0,
                                        "instance ready"
                                    );
                                    instance
                                }
                                Err(error) => return (None, None, Err(CallError::Trap(error.to_string()))),
                            }
                        }
                    };
                    let applied = (part == Part::Whole).then_some((call_batch.topic.as_str(), last_offset));
                    let result = process(&mut instance, &call_batch, lent, applied, &runtime, &state_stats);
                    if let Some(session) = &mut recording
                        && !session.batch_done(&call_batch, &result)
                    {
                        // The recorded instance is retired with its recording.
                        return (None, None, result);
                    }
                    match result {
                        Err(error) if error.poisons_instance() => (None, recording, Err(error)),
                        result => (Some(instance), recording, result),
                    }
                });
                match call.await {
                    Ok((instance, recording, result)) => {
                        stage.instance = instance;
                        stage.recording = recording;
                        match result {
                            Ok(outcome) => {
                                if let Some(switched_at) = switched_at {
                                    // The processing pause a swap costs this worker: a
                                    // fresh instance (init) plus the first batch.
                                    tracing::info!(
                                        %pipeline, plugin = %stage.plugin.label(), partition = batch.partition,
                                        pause_ms = switched_at.elapsed().as_millis() as u64,
                                        "first batch on the new version done"
                                    );
                                }
                                stage.slot.report_call(stage.plugin.version(), true);
                                return Ok((in_batch(outcome, &kept), stage.plugin.label()));
                            }
                            Err(error) => error,
                        }
                    }
                    Err(join_error) => CallError::Trap(format!("plugin call panicked in the host: {join_error}")),
                }
            };
            stats.record_failure(stage.slot.name(), stage.plugin.version(), error.kind());
            let label = stage.plugin.label();
            if let CallError::Backend { reason, .. } = &error {
                // A backend the plugin needs is down: the partition waits for
                // it instead of dead-lettering healthy events, and says so.
                let waited = stats.waiting_for_backend(&batch.topic, batch.partition, reason);
                // Nothing more of the partition is read while it waits.
                match self
                    .pause
                    .as_ref()
                    .map_or(Ok(false), |pause| pause.pause(PauseReason::Backend))
                {
                    Ok(true) => {
                        stats.paused.fetch_add(1, Ordering::Relaxed);
                        tracing::info!(
                            %pipeline, topic = %batch.topic, partition = batch.partition,
                            "paused the partition's fetching until the backend is back"
                        );
                    }
                    Ok(false) => {}
                    Err(error) => tracing::warn!(
                        %pipeline, topic = %batch.topic, partition = batch.partition, %error,
                        "cannot pause the partition; librdkafka's pre-fetch limit bounds what it reads meanwhile"
                    ),
                }
                if last_wait_log.is_none_or(|logged| logged.elapsed() >= BACKEND_WAIT_LOG_INTERVAL) {
                    last_wait_log = Some(std::time::Instant::now());
                    tracing::warn!(
                        %pipeline, plugin = %label, partition = batch.partition, first_offset, last_offset,
                        waited_s = waited.as_secs(), %error, "waiting for a backend; the partition holds its batch and retries"
                    );
                }
            } else {
                stage.slot.report_call(stage.plugin.version(), false);
                tracing::warn!(
                    %pipeline, plugin = %label, partition = batch.partition, first_offset, last_offset,
                    attempt = attempt + 1, kind = error.kind(), %error, "plugin failed the batch"
                );
                if !error.is_retryable() || attempt >= retries {
                    return Err(ChainError::Stopped {
                        plugin: label,
                        first_offset,
                        last_offset,
                        error,
                    });
                }
                attempt += 1;
            }
            let backoff = Duration::from_millis(
                self.policy
                    .backoff_ms
                    .saturating_mul(1 << pauses.min(16))
                    .min(self.policy.max_backoff_ms),
            );
            pauses = pauses.saturating_add(1);
            tokio::select! {
                _ = stop.cancelled() => return Err(ChainError::Cancelled),
                _ = tokio::time::sleep(backoff) => {}
            }
        }
    }
}

impl Drop for PluginChain {
    /// A worker that stops while its partition waits (a revoke, the
    /// shutdown) leaves it fetching, and counted so.
    fn drop(&mut self) {
        self.resume_fetching();
    }
}

/// Whether a plugin call is given a whole batch (its state records the
/// batch's last offset) or part of one being split (it does not: the other
/// parts are not done yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Whole,
    Split,
}

/// A partition's state lent to a call, where its changes are written, and
/// whose state it is (for the metrics).
struct LentState {
    call: StateCall,
    store: KvBackend,
    key: String,
    plugin: String,
    /// How long the store may take to answer (the plugin's
    /// `limits.host_call_timeout_ms`, as for its own host calls).
    timeout: Duration,
}

/// Calls `process-batch` of `instance` on `batch`, lending it `lent` (the
/// partition's state) when the plugin keeps state, and writes the call's
/// state changes, with `applied` (the topic and last offset of a whole
/// batch), once it succeeded. A write the store refuses, or a claim
/// superseded, is a backend the batch waits for.
fn process(
    instance: &mut PluginInstance,
    batch: &Batch,
    lent: Option<LentState>,
    applied: Option<(&str, i64)>,
    runtime: &tokio::runtime::Handle,
    stats: &PipelineStats,
) -> Result<BatchOutcome, CallError> {
    let Some(LentState {
        call,
        store,
        key,
        plugin,
        timeout,
    }) = lent
    else {
        return instance.process(batch);
    };
    instance.lend_state(Some(call));
    let result = instance.process(batch);
    // Dropping the call without a commit discards its changes.
    let (outcome, call) = match (result, instance.take_state()) {
        (Ok(outcome), Some(call)) => (outcome, call),
        (result, _) => return result,
    };
    let committed = runtime.block_on(async {
        tokio::time::timeout(timeout, call.commit(&store, &key, applied))
            .await
            .unwrap_or_else(|_| Err(CommitError::Store(no_answer(timeout))))
    });
    match &committed {
        Ok(true) => stats.state_written(&plugin),
        Ok(false) | Err(CommitError::Store(_)) => {}
        Err(CommitError::Superseded { .. }) => stats.state_superseded(&plugin),
    }
    committed.map(|_| outcome).map_err(|error| CallError::Backend {
        reason: error.to_string(),
        error: PluginError {
            message: "the batch's state changes could not be written".into(),
            retryable: true,
        },
    })
}

/// The error of a store that did not answer within `timeout`.
fn no_answer(timeout: Duration) -> KvError {
    KvError::Unavailable(format!("no answer within {} ms", timeout.as_millis()))
}

/// Locks the plugin's state of `partition` for a call of `stage`, loading
/// it from the store on first use; a store that cannot be reached is a
/// backend the batch waits for.
async fn lend_state(
    shards: &StateShards,
    stage: &mut Stage,
    pipeline: &str,
    partition: i32,
    stats: &PipelineStats,
) -> Result<LentState, CallError> {
    let plugin = stage.slot.name().to_string();
    let unavailable = |reason: String| CallError::Backend {
        reason,
        error: PluginError {
            message: format!("the state of {plugin} for partition {partition} could not be loaded"),
            retryable: true,
        },
    };
    let held = match &mut stage.state {
        Some(held) => held,
        held @ None => held.insert(HeldState {
            shard: shards.shard(&plugin, partition),
            store: stage.plugin.state_store(pipeline).map_err(unavailable)?,
            key: shards.store_key(&plugin, partition),
        }),
    };
    let (store, key) = (held.store.clone(), held.key.clone());
    let timeout = Duration::from_millis(stage.plugin.limits().host_call_timeout_ms);
    let mut guard = held.shard.clone().lock_owned().await;
    if !guard.is_loaded() {
        let started = std::time::Instant::now();
        tokio::time::timeout(timeout, guard.load(&store, &key))
            .await
            .unwrap_or_else(|_| Err(no_answer(timeout)))
            .map_err(|error| unavailable(format!("the state store: {error}")))?;
        guard.count_into(stats.state_loaded(&plugin, started.elapsed().as_secs_f64()));
        tracing::info!(
            %pipeline, plugin, partition, keys = guard.len(), bytes = guard.bytes(),
            load_ms = started.elapsed().as_millis() as u64, "loaded the partition's state"
        );
    }
    Ok(LentState {
        call: StateCall::new(guard),
        store,
        key,
        plugin,
        timeout,
    })
}

/// The records of `batch` after `applied` (all of them without it), and
/// their indices in `batch` when some were left out.
fn not_applied(batch: &Arc<Batch>, applied: Option<i64>) -> (Arc<Batch>, Option<Vec<usize>>) {
    let Some(applied) = applied else {
        return (batch.clone(), None);
    };
    let offsets = batch.offsets();
    if offsets.iter().all(|&offset| offset > applied) {
        return (batch.clone(), None);
    }
    let kept: Vec<usize> = (0..offsets.len()).filter(|&index| offsets[index] > applied).collect();
    (Arc::new(batch.subset(&kept)), Some(kept))
}

/// `outcome`'s rejections by index into the whole batch, when the call was
/// given the records at `kept` only (an index beyond them stays out of
/// range, for the caller to ignore).
fn in_batch(mut outcome: BatchOutcome, kept: &Option<Vec<usize>>) -> BatchOutcome {
    if let Some(kept) = kept {
        for Rejection { index, .. } in &mut outcome.rejected {
            *index = kept.get(*index as usize).map_or(u32::MAX, |&original| original as u32);
        }
    }
    outcome
}

/// `items` without those whose flag in `dropped` is set (same positions).
pub(super) fn without<T>(items: Vec<T>, dropped: &[bool]) -> Vec<T> {
    items
        .into_iter()
        .zip(dropped)
        .filter(|(_, dropped)| !**dropped)
        .map(|(item, _)| item)
        .collect()
}
