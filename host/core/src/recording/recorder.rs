//! The host's side of `fleethost record`: a plugin's recorder, which an
//! operator asks (through the admin interface) for the next batches, and
//! the session of the partition worker that takes the request up.
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

use super::{MAX_BATCHES, Recording, RecordingMeta};
use crate::config::PluginConfig;
use crate::harness::report;
use crate::runtime::tape::Tape;
use crate::runtime::{Batch, BatchOutcome, CallError, Inputs, InstanceOptions, LoadedPlugin, Seeds};

/// A plugin's recording as `GET /plugins/{name}/recording` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingStatus {
    /// The plugin.
    pub plugin: String,
    /// `none` (never asked), `waiting` (for a worker to start a batch),
    /// `recording` or `done`.
    pub state: String,
    /// Batches recorded so far.
    pub recorded: u32,
    /// Batches asked for.
    pub requested: u32,
    /// The recording, once done.
    pub recording: Option<Recording>,
    /// Why a request was refused, when it was.
    #[serde(default)]
    pub error: Option<String>,
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
        recording: Box<Recording>,
        component: Option<Arc<Vec<u8>>>,
    },
    Done {
        requested: u32,
        recording: Arc<Recording>,
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
                recording,
                component,
            } => {
                state.phase = done(
                    recording,
                    batches,
                    component,
                    format!("stopped after {recorded} of {batches} batches"),
                )
            }
            Phase::Waiting { .. } | Phase::Idle => {}
            done @ Phase::Done { .. } => state.phase = done,
        }
    }

    /// Where the recording stands; the recording itself once done.
    pub fn status(&self) -> RecordingStatus {
        let state = self.lock();
        let (phase, recorded, requested, recording) = match &state.phase {
            Phase::Idle => ("none", 0, 0, None),
            Phase::Waiting { batches } => ("waiting", 0, *batches, None),
            Phase::Recording { batches, recorded, .. } => ("recording", *recorded, *batches, None),
            Phase::Done {
                requested, recording, ..
            } => (
                "done",
                recording.batches.len() as u32,
                *requested,
                Some(Recording::clone(recording)),
            ),
        };
        RecordingStatus {
            plugin: self.plugin.clone(),
            state: phase.to_string(),
            recorded,
            requested,
            recording,
            error: None,
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
        let mut plugin_config = config.clone();
        plugin_config.path = super::COMPONENT_FILE.into();
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
            plugin_config,
            seeds: seeds.clone(),
            host_version: env!("CARGO_PKG_VERSION").to_string(),
        };
        state.phase = Phase::Recording {
            batches,
            recorded: 0,
            recording: Box::new(Recording {
                meta,
                batches: Vec::new(),
                lines: Vec::new(),
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
fn done(mut recording: Box<Recording>, requested: u32, component: Option<Arc<Vec<u8>>>, ended: String) -> Phase {
    recording.meta.ended = ended;
    Phase::Done {
        requested,
        recording: Arc::new(*recording),
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
        let lines = calls.iter().map(|call| report::call_line(report::INIT_TAG, call));
        self.append(|recording| recording.lines.extend(lines));
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
        let tag = report::batch_tag(index);
        let mut lines = vec![report::batch_line(index, batch)];
        lines.extend(self.tape.take().iter().map(|call| report::call_line(&tag, call)));
        lines.push(report::outcome_line(index, batch, outcome));
        let mut complete = false;
        let recording = self.append(|recording| {
            recording.batches.push(batch.clone());
            recording.lines.extend(lines);
        });
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
            recording,
            component,
            ..
        } = std::mem::replace(&mut state.phase, Phase::Idle)
        {
            tracing::info!(plugin = %self.recorder.plugin, %why, "recording ended");
            state.phase = done(recording, batches, component, why);
        }
    }

    /// Applies `change` to the recording under way, when it is still this
    /// session's; returns the batches recorded and asked for.
    fn append(&mut self, change: impl FnOnce(&mut Recording)) -> Option<(u32, u32)> {
        let mut state = self.recorder.lock();
        if state.generation != self.generation {
            return None;
        }
        let Phase::Recording {
            batches,
            recorded,
            recording,
            ..
        } = &mut state.phase
        else {
            return None;
        };
        change(recording);
        *recorded = recording.batches.len() as u32;
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
        assert_eq!((status.state.as_str(), status.requested), ("waiting", 5));
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
