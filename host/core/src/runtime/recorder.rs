//! The host's side of `fleethost record`: a plugin's recorder, which an
//! operator asks (through the admin interface) for the next batches, and
//! the session of the partition worker that takes the request up. What it
//! keeps is the raw run (batches, host calls, outcomes); the harness writes
//! it as a recording folder (`harness/recording.rs`) and replays it.
//!
//! The first worker of the plugin to start a batch after the request takes
//! it: it makes a fresh, recorded instance (its `init` is recorded too),
//! runs its next batches on it, and retires it when the recording has them
//! all, when a call leaves it unusable (the incident a recording is often
//! for), or when the plugin is reloaded; the worker's next batch gets an
//! ordinary instance again. A recording cut short keeps what it has.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use super::inputs::{Inputs, Seeds};
use super::plugin::LoadedPlugin;
use super::tape::{HostCall, Tape};
use super::{Batch, BatchOutcome, CallError, InstanceOptions};
use crate::config::PluginConfig;

/// Most batches one recording keeps.
pub const MAX_BATCHES: u32 = 1000;

/// What was recorded, and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingMeta {
    /// The plugin's name in the host's config.
    pub plugin: String,
    /// The version that ran (content hash of the component and its settings).
    pub version: String,
    /// The pipeline whose worker ran it.
    pub pipeline: String,
    /// The partition the worker owned, as `topic/partition`.
    pub partition: String,
    /// When the recording's instance started, in ms since the Unix epoch.
    pub started_ms: i64,
    /// Why the recording ended: its batches were all recorded, or what cut
    /// it short.
    pub ended: String,
    /// The plugin's config section (component path, config map, limits,
    /// grants).
    pub plugin_config: PluginConfig,
    /// The seeds of the instance's random numbers.
    pub seeds: Seeds,
    /// The host build that recorded.
    pub host_version: String,
}

/// What a recorded instance did: its `init`'s host calls, then each call of
/// `process-batch`.
#[derive(Debug, Clone)]
pub struct RecordedRun {
    pub meta: RecordingMeta,
    /// The host calls of `init`, with their answers.
    pub init_calls: Vec<HostCall>,
    /// Each batch the instance was given, in order (a retried batch twice).
    pub batches: Vec<RecordedBatch>,
}

/// One call of `process-batch` in a recording.
#[derive(Debug, Clone)]
pub struct RecordedBatch {
    pub batch: Batch,
    /// Its host calls, with their answers.
    pub calls: Vec<HostCall>,
    pub outcome: Result<BatchOutcome, CallError>,
}

/// Where a plugin's recording stands.
#[derive(Debug, Clone)]
pub struct RecorderStatus {
    /// `none` (never asked), `waiting` (for a worker to start a batch),
    /// `recording` or `done`.
    pub state: &'static str,
    /// Batches recorded so far.
    pub recorded: u32,
    /// Batches asked for.
    pub requested: u32,
    /// The run, once done.
    pub run: Option<Arc<RecordedRun>>,
}

/// Why a recording cannot be started.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RecordRefused {
    #[error("a recording of plugin {0} is under way; wait for it or stop it")]
    UnderWay(String),
    #[error("a recording keeps 1 to {MAX_BATCHES} batches, not {0}")]
    Batches(u32),
}

/// One plugin's recording: asked for, under way, or done.
pub struct PluginRecorder {
    plugin: String,
    /// Set while a request waits for a worker: what workers check before
    /// each batch, without taking the lock.
    waiting: AtomicBool,
    state: Mutex<State>,
}

struct State {
    /// Counts requests, so that a session of a stopped recording cannot
    /// write into the next one.
    generation: u64,
    phase: Phase,
}

enum Phase {
    Idle,
    Waiting {
        batches: u32,
    },
    Recording {
        batches: u32,
        recorded: u32,
        run: Box<RecordedRun>,
        component: Option<Arc<Vec<u8>>>,
    },
    Done {
        requested: u32,
        run: Arc<RecordedRun>,
        component: Option<Arc<Vec<u8>>>,
    },
}

impl PluginRecorder {
    /// The recorder of plugin `plugin`, idle.
    pub fn new(plugin: &str) -> Self {
        Self {
            plugin: plugin.to_string(),
            waiting: AtomicBool::new(false),
            state: Mutex::new(State {
                generation: 0,
                phase: Phase::Idle,
            }),
        }
    }

    /// Asks for the next `batches` batches; the previous recording is
    /// dropped.
    pub fn request(&self, batches: u32) -> Result<(), RecordRefused> {
        if batches == 0 || batches > MAX_BATCHES {
            return Err(RecordRefused::Batches(batches));
        }
        let mut state = self.lock();
        if matches!(state.phase, Phase::Waiting { .. } | Phase::Recording { .. }) {
            return Err(RecordRefused::UnderWay(self.plugin.clone()));
        }
        state.generation += 1;
        state.phase = Phase::Waiting { batches };
        self.waiting.store(true, Ordering::Release);
        Ok(())
    }

    /// Stops the recording under way, keeping what it has; a request no
    /// worker took yet is withdrawn.
    pub fn stop(&self) {
        let mut state = self.lock();
        self.waiting.store(false, Ordering::Release);
        match std::mem::replace(&mut state.phase, Phase::Idle) {
            Phase::Recording {
                batches,
                recorded,
                run,
                component,
            } => {
                state.phase = done(
                    run,
                    batches,
                    component,
                    format!("stopped after {recorded} of {batches} batches"),
                )
            }
            Phase::Waiting { .. } | Phase::Idle => {}
            done @ Phase::Done { .. } => state.phase = done,
        }
    }

    /// The plugin's name.
    pub fn plugin(&self) -> &str {
        &self.plugin
    }

    /// Where the recording stands; the run itself once done.
    pub fn status(&self) -> RecorderStatus {
        let state = self.lock();
        let (phase, recorded, requested, run) = match &state.phase {
            Phase::Idle => ("none", 0, 0, None),
            Phase::Waiting { batches } => ("waiting", 0, *batches, None),
            Phase::Recording { batches, recorded, .. } => ("recording", *recorded, *batches, None),
            Phase::Done { requested, run, .. } => ("done", run.batches.len() as u32, *requested, Some(run.clone())),
        };
        RecorderStatus {
            state: phase,
            recorded,
            requested,
            run,
        }
    }

    /// The component of the finished recording, when the host could read the
    /// version that ran.
    pub fn component(&self) -> Option<Arc<Vec<u8>>> {
        match &self.lock().phase {
            Phase::Done { component, .. } | Phase::Recording { component, .. } => component.clone(),
            _ => None,
        }
    }

    /// Whether a request waits for a worker (a flag: cheap before every batch).
    pub fn is_waiting(&self) -> bool {
        self.waiting.load(Ordering::Acquire)
    }

    /// Takes the waiting request up for the worker of `pipeline` on
    /// `topic/partition`, which runs `plugin` with `config`. `None` when
    /// another worker took it first, or the plugin runs natively (outside
    /// the sandbox, nothing to record).
    pub fn claim(
        self: &Arc<Self>,
        plugin: &LoadedPlugin,
        config: &PluginConfig,
        pipeline: &str,
        topic: &str,
        partition: i32,
    ) -> Option<RecordingSession> {
        if crate::config::native_name(&config.path).is_some() {
            return None;
        }
        let mut state = self.lock();
        let Phase::Waiting { batches } = state.phase else {
            return None;
        };
        self.waiting.store(false, Ordering::Release);
        let component = plugin.read_component(config).map(Arc::new);
        let seeds = Seeds::fresh();
        let started_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as i64);
        let meta = RecordingMeta {
            plugin: self.plugin.clone(),
            version: plugin.version().to_string(),
            pipeline: pipeline.to_string(),
            partition: format!("{topic}/{partition}"),
            started_ms,
            ended: String::new(),
            plugin_config: config.clone(),
            seeds: seeds.clone(),
            host_version: env!("CARGO_PKG_VERSION").to_string(),
        };
        state.phase = Phase::Recording {
            batches,
            recorded: 0,
            run: Box::new(RecordedRun {
                meta,
                init_calls: Vec::new(),
                batches: Vec::new(),
            }),
            component,
        };
        tracing::info!(plugin = %plugin.label(), %pipeline, %topic, partition, batches, "recording the plugin's next batches");
        Some(RecordingSession {
            recorder: self.clone(),
            generation: state.generation,
            tape: Tape::default(),
            seeds,
            batches: 0,
            ended: false,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The phase of a finished recording.
fn done(mut run: Box<RecordedRun>, requested: u32, component: Option<Arc<Vec<u8>>>, ended: String) -> Phase {
    run.meta.ended = ended;
    Phase::Done {
        requested,
        run: Arc::new(*run),
        component,
    }
}

/// A worker's part of a recording: the options of the recorded instance,
/// and what it hands the recorder after `init` and each batch.
pub struct RecordingSession {
    recorder: Arc<PluginRecorder>,
    generation: u64,
    tape: Tape,
    seeds: Seeds,
    /// Batches recorded by this session.
    batches: usize,
    ended: bool,
}

impl RecordingSession {
    /// How the recorded instance is made: taped, its clocks' readings
    /// written down, its random numbers from the recording's seeds.
    pub fn instance_options(&self) -> InstanceOptions {
        InstanceOptions {
            inputs: Inputs::Recorded(self.seeds.clone()),
            tape: Some(self.tape.clone()),
        }
    }

    /// Records the host calls of the instance's `init`. `Err` means the
    /// instance could not be made: the recording ends there.
    pub fn init_done<E: std::fmt::Display>(&mut self, result: Result<(), E>) {
        let calls = self.tape.take();
        self.append(|run| run.init_calls.extend(calls));
        if let Err(error) = result {
            self.end(format!("the recorded instance could not be made: {error}"));
        }
    }

    /// Records one call of `process-batch`: the batch, its host calls and
    /// its outcome. Returns whether the session goes on; when it does not,
    /// the worker drops the recorded instance.
    pub fn batch_done(&mut self, batch: &Batch, outcome: &Result<BatchOutcome, CallError>) -> bool {
        let index = self.batches;
        self.batches += 1;
        let recorded = RecordedBatch {
            batch: batch.clone(),
            calls: self.tape.take(),
            outcome: outcome.clone(),
        };
        let mut complete = false;
        let recording = self.append(|run| run.batches.push(recorded));
        if let Some((recorded, requested)) = recording {
            complete = recorded >= requested;
        }
        if recording.is_none() {
            self.ended = true;
        } else if complete {
            self.end(format!("recorded the {} batches asked for", self.batches));
        } else if let Err(error) = outcome
            && error.poisons_instance()
        {
            self.end(format!(
                "the instance was left unusable at batch {index} ({}), after {} batches",
                error.kind(),
                self.batches
            ));
        }
        !self.ended
    }

    /// Ends the recording with `why` (a reload, the instance lost), keeping
    /// what it has.
    pub fn end(&mut self, why: String) {
        if self.ended {
            return;
        }
        self.ended = true;
        let mut state = self.recorder.lock();
        if state.generation != self.generation {
            return;
        }
        if let Phase::Recording {
            batches,
            run,
            component,
            ..
        } = std::mem::replace(&mut state.phase, Phase::Idle)
        {
            tracing::info!(plugin = %self.recorder.plugin, %why, "recording ended");
            state.phase = done(run, batches, component, why);
        }
    }

    /// Applies `change` to the run under way, when it is still this
    /// session's; returns the batches recorded and asked for.
    fn append(&mut self, change: impl FnOnce(&mut RecordedRun)) -> Option<(u32, u32)> {
        let mut state = self.recorder.lock();
        if state.generation != self.generation {
            return None;
        }
        let Phase::Recording {
            batches, recorded, run, ..
        } = &mut state.phase
        else {
            return None;
        };
        change(run);
        *recorded = run.batches.len() as u32;
        Some((*recorded, *batches))
    }
}

impl Drop for RecordingSession {
    /// A worker that stops with a recording under way (a revoke, the
    /// shutdown, a panic) ends it with what it has.
    fn drop(&mut self) {
        let batches = self.batches;
        self.end(format!(
            "the worker stopped (partition revoked or host shutting down) after {batches} batches"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_recording_at_a_time_of_1_to_1000_batches() {
        let recorder = PluginRecorder::new("eta");
        assert_eq!(recorder.status().state, "none");
        assert_eq!(recorder.request(0), Err(RecordRefused::Batches(0)));
        assert_eq!(
            recorder.request(MAX_BATCHES + 1),
            Err(RecordRefused::Batches(MAX_BATCHES + 1))
        );
        recorder.request(5).unwrap();
        assert!(recorder.is_waiting());
        let status = recorder.status();
        assert_eq!((status.state, status.requested), ("waiting", 5));
        assert_eq!(recorder.request(5), Err(RecordRefused::UnderWay("eta".into())));
    }

    #[test]
    fn a_request_no_worker_took_is_withdrawn_by_stop() {
        let recorder = PluginRecorder::new("eta");
        recorder.request(3).unwrap();
        recorder.stop();
        assert!(!recorder.is_waiting());
        assert_eq!(recorder.status().state, "none");
        assert!(recorder.component().is_none());
        recorder.request(3).unwrap();
    }
}
