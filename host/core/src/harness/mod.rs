//! Plugin tests without a broker (`fleethost test`): a plugin runs batches
//! read from files through the same sandbox, limits and grant checks as in
//! the host, against in-memory capabilities (the embedded kv store, an
//! in-memory SQLite database, a producer that acknowledges at once), with a
//! fixed clock and seeded randomness, and every host call it makes is
//! written down with its answer. The same batches give the same lines on
//! every run, so they can be compared with a golden file.

pub mod fixtures;
pub mod recording;
pub mod replay;
pub mod report;

use crate::capabilities::Backends;
use crate::capabilities::kv::backend::{KvBackend, MEMORY_URL};
use crate::capabilities::sql::backend::SqlBackend;
use crate::capabilities::state::{Shard, SharedShard, StateCall};
use crate::config::PluginConfig;
use crate::kafka::producer::Producer;
use crate::runtime::tape::{HostCall, Tape};
use crate::runtime::{
    Batch, BatchOutcome, CallError, Inputs, InstanceOptions, LoadError, LoadedPlugin, PluginInstance, PluginRuntime,
};

/// The pipeline name a tested plugin's batches and instances carry.
pub const TEST_PIPELINE: &str = "test";

/// A plugin loaded for a test, with its in-memory backends and its tape.
pub struct Harness {
    plugin: LoadedPlugin,
    /// `None` after a call left it unusable, until the next batch.
    instance: Option<PluginInstance>,
    tape: Tape,
    inputs: Inputs,
    /// Host calls `init` made.
    init_calls: Vec<HostCall>,
    /// The plugin's state of each partition, for as long as the test runs.
    state: std::collections::HashMap<i32, SharedShard>,
    _runtime: PluginRuntime,
}

/// What one batch did.
#[derive(Debug)]
pub struct BatchRun {
    /// The host calls of the batch, in order, with their answers.
    pub calls: Vec<HostCall>,
    /// What `process-batch` answered (or how it failed).
    pub outcome: Result<BatchOutcome, CallError>,
}

/// Why a plugin test cannot start.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("the WebAssembly engine: {0:#}")]
    Engine(wasmtime::Error),
    #[error("the in-memory backends: {0}")]
    Backend(String),
    #[error(transparent)]
    Load(#[from] LoadError),
}

impl Harness {
    /// Loads the plugin `name` as `plugin` describes it (its component, its
    /// config map, limits and grants) and makes its instance, whose `init`
    /// runs at once, with `inputs` for clocks and random numbers (fixed for
    /// a test, from the recording for a replay). Blocking, and must run
    /// inside a tokio runtime context (the capabilities keep its handle) but
    /// not on one of its workers.
    pub fn start(name: &str, plugin: &PluginConfig, inputs: Inputs) -> Result<Self, HarnessError> {
        let runtime = PluginRuntime::new().map_err(HarnessError::Engine)?;
        let backends = Backends {
            kv: KvBackend::connect_lazy(MEMORY_URL).map_err(|error| HarnessError::Backend(error.to_string()))?,
            sql: Some(
                SqlBackend::connect_lazy("sqlite::memory:", 1)
                    .map_err(|error| HarnessError::Backend(error.to_string()))?,
            ),
            producer: Some(Producer::acknowledging()),
            shadow: None,
        };
        let plugin = LoadedPlugin::load(&runtime, name, plugin, backends)?;
        let tape = Tape::default();
        let instance = plugin.instantiate_with(TEST_PIPELINE, options(&tape, &inputs))?;
        let init_calls = tape.take();
        Ok(Self {
            plugin,
            instance: Some(instance),
            tape,
            inputs,
            init_calls,
            state: Default::default(),
            _runtime: runtime,
        })
    }

    /// The host calls the plugin's `init` made.
    pub fn init_calls(&self) -> &[HostCall] {
        &self.init_calls
    }

    /// The version of the plugin under test.
    pub fn version(&self) -> &str {
        self.plugin.version()
    }

    /// Runs one batch. An instance left unusable (a trap, a timeout, memory)
    /// is replaced before the next batch, as the host replaces it, and the
    /// new one's `init` calls are not shown.
    pub fn run(&mut self, batch: &Batch) -> Result<BatchRun, HarnessError> {
        let mut instance = match self.instance.take() {
            Some(instance) => instance,
            None => {
                let instance = self
                    .plugin
                    .instantiate_with(TEST_PIPELINE, options(&self.tape, &self.inputs))?;
                self.tape.take();
                instance
            }
        };
        if self.plugin.keeps_state() {
            let shard = self
                .state
                .entry(batch.partition)
                .or_insert_with(|| std::sync::Arc::new(tokio::sync::Mutex::new(Shard::empty())));
            let guard = shard
                .clone()
                .try_lock_owned()
                .expect("only the harness locks its shards");
            instance.lend_state(Some(StateCall::new(guard)));
        }
        let outcome = instance.process(batch);
        if let Some(state) = instance.take_state()
            && outcome.is_ok()
        {
            state.commit_in_memory();
        }
        let calls = self.tape.take();
        if !outcome.as_ref().is_err_and(CallError::poisons_instance) {
            self.instance = Some(instance);
        }
        Ok(BatchRun { calls, outcome })
    }
}

fn options(tape: &Tape, inputs: &Inputs) -> InstanceOptions {
    InstanceOptions {
        inputs: inputs.clone(),
        tape: Some(tape.clone()),
    }
}
