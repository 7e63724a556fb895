//! The plugin chain of one partition worker: each batch goes through the
//! pipeline's plugins in order, under the pipeline's failure policy.
//!
//! A failed call costs the instance, never the host: after a trap or timeout
//! the instance is dropped and a fresh one is built for the retry. When the
//! retries are used up, the batch's events are dead-lettered or the pipeline
//! stops, as configured.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::dead_letter::Failure;
use super::stats::PipelineStats;
use crate::config::{FailurePolicy, OnExhausted};
use crate::runtime::{Batch, BatchOutcome, CallError, LoadedPlugin, PluginInstance, PluginSlot};

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
}

/// The plugins of one pipeline with one instance each, owned by one worker.
pub struct PluginChain {
    pipeline: String,
    stages: Vec<Stage>,
    policy: FailurePolicy,
    stats: Arc<PipelineStats>,
}

impl PluginChain {
    /// A chain over `plugins`; instances are created on first use.
    pub fn new(pipeline: &str, plugins: &[Arc<PluginSlot>], policy: FailurePolicy, stats: Arc<PipelineStats>) -> Self {
        Self {
            pipeline: pipeline.to_string(),
            stages: plugins
                .iter()
                .map(|slot| Stage {
                    slot: slot.clone(),
                    plugin: slot.current(),
                    instance: None,
                })
                .collect(),
            policy,
            stats,
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
            match self.call_with_retries(stage_index, batch.clone(), stop).await {
                Ok((outcome, label)) => {
                    let mut rejected = vec![false; alive.len()];
                    for rejection in outcome.rejected {
                        let index = rejection.index as usize;
                        if index >= alive.len() || rejected[index] {
                            tracing::warn!(pipeline = %self.pipeline, plugin = %label, index, "plugin rejected an event index it was not given; ignored");
                            continue;
                        }
                        rejected[index] = true;
                        failures.push((
                            alive[index],
                            Failure {
                                kind: "rejected",
                                reason: rejection.reason,
                                plugin: Some(label.clone()),
                            },
                        ));
                    }
                    if rejected.contains(&true) {
                        let mut remaining = Arc::unwrap_or_clone(batch);
                        remaining.drop_records(&rejected);
                        alive = without(alive, &rejected);
                        batch = Arc::new(remaining);
                    }
                }
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
                    failures.extend(alive.drain(..).map(|index| (index, failure.clone())));
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
            }
        }
        Ok(failures)
    }

    /// Calls one plugin, retrying with exponential backoff on a fresh instance
    /// when the call poisoned the old one. `Stopped` means the retries are used
    /// up (the caller applies `on_exhausted`). A retryable plugin error (a
    /// backend is unavailable) is retried until it passes or the worker stops.
    async fn call_with_retries(
        &mut self,
        stage_index: usize,
        batch: Arc<Batch>,
        stop: &CancellationToken,
    ) -> Result<(BatchOutcome, String), ChainError> {
        let pipeline = self.pipeline.clone();
        let stage = &mut self.stages[stage_index];
        let (first_offset, last_offset) = batch.offset_range();
        let mut attempt: u32 = 0;
        let mut switched_at = None;
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
                switched_at = Some(std::time::Instant::now());
            }
            let plugin = stage.plugin.clone();
            let instance = stage.instance.take();
            let call_batch = batch.clone();
            let pipeline_name = pipeline.clone();
            // Returns the instance when it is still usable, and the call's result.
            let call = tokio::task::spawn_blocking(move || {
                let mut instance = match instance {
                    Some(instance) => instance,
                    None => {
                        let started = std::time::Instant::now();
                        match plugin.instantiate(&pipeline_name) {
                            Ok(instance) => {
                                tracing::debug!(
                                    plugin = %plugin.label(),
                                    instantiate_ms = started.elapsed().as_secs_f64() * 1000.0,
                                    "instance ready"
                                );
                                instance
                            }
                            Err(error) => return (None, Err(CallError::Trap(error.to_string()))),
                        }
                    }
                };
                match instance.process(&call_batch) {
                    Err(error) if error.poisons_instance() => (None, Err(error)),
                    result => (Some(instance), result),
                }
            });
            let error = match call.await {
                Ok((instance, result)) => {
                    stage.instance = instance;
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
                            return Ok((outcome, stage.plugin.label()));
                        }
                        Err(error) => error,
                    }
                }
                Err(join_error) => CallError::Trap(format!("plugin call panicked in the host: {join_error}")),
            };
            self.stats.record_failure(error.kind());
            let label = stage.plugin.label();
            tracing::warn!(
                %pipeline, plugin = %label, partition = batch.partition, first_offset, last_offset,
                attempt = attempt + 1, kind = error.kind(), %error, "plugin failed the batch"
            );
            // A backend the plugin needs is down: the partition waits for it
            // (its queue stops growing once librdkafka's prefetch is full)
            // instead of dead-lettering healthy events.
            let waits_for_backend = error.waits_for_backend();
            if !waits_for_backend {
                stage.slot.report_call(stage.plugin.version(), false);
            }
            if !waits_for_backend && (!error.is_retryable() || attempt >= self.policy.retries) {
                return Err(ChainError::Stopped {
                    plugin: label,
                    first_offset,
                    last_offset,
                    error,
                });
            }
            let backoff = Duration::from_millis(
                self.policy
                    .backoff_ms
                    .saturating_mul(1 << attempt.min(16))
                    .min(self.policy.max_backoff_ms),
            );
            tokio::select! {
                _ = stop.cancelled() => return Err(ChainError::Cancelled),
                _ = tokio::time::sleep(backoff) => {}
            }
            attempt = attempt.saturating_add(1);
        }
    }
}

/// `items` without those whose flag in `dropped` is set (same positions).
fn without<T>(items: Vec<T>, dropped: &[bool]) -> Vec<T> {
    items
        .into_iter()
        .zip(dropped)
        .filter(|(_, dropped)| !**dropped)
        .map(|(item, _)| item)
        .collect()
}
