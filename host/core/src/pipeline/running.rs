//! The pipelines that run and the plugins they run: those of the config at
//! start and those a config change added later ([`super::deploy`]). Their
//! tasks are one set that the host waits on at shutdown, so an added
//! pipeline commits then like the others; the admin interface and the
//! scrape read the registry at each request, so an added pipeline shows
//! there as soon as it starts.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::operator_pause::OperatorPause;
use super::stats::PipelineStats;
use super::{Pipeline, PipelineError};
use crate::config::PipelineConfig;
use crate::runtime::PluginSlot;

/// What the host keeps of a running pipeline: its definition (what a config
/// change is compared with) and what the admin interface reads and controls.
pub struct RunningPipeline {
    /// Its definition, as it was started.
    pub config: PipelineConfig,
    /// Its counters and partitions.
    pub stats: Arc<PipelineStats>,
    /// Its operator's pauses.
    pub pause: OperatorPause,
    /// Its plugins, in order.
    pub plugins: Vec<Arc<PluginSlot>>,
}

/// Why a pipeline was not started.
#[derive(Debug, thiserror::Error)]
pub enum StartRefused {
    /// A pipeline of that name runs already.
    #[error("a pipeline named {0:?} runs already")]
    AlreadyRunning(String),
    /// The host is shutting down.
    #[error("the host is shutting down")]
    Stopping,
}

#[derive(Default)]
struct Registry {
    slots: BTreeMap<String, Arc<PluginSlot>>,
    pipelines: BTreeMap<String, Arc<RunningPipeline>>,
}

/// The running pipelines, their plugins, and the tasks the host waits on.
pub struct Running {
    registry: RwLock<Registry>,
    /// `None` once [`Running::wait`] has seen every task end: nothing
    /// starts after that.
    tasks: Mutex<Option<JoinSet<Result<(), PipelineError>>>>,
    shutdown: CancellationToken,
}

impl Running {
    /// Nothing running yet; every pipeline started stops at `shutdown`.
    pub fn new(shutdown: CancellationToken) -> Self {
        Self {
            registry: RwLock::default(),
            tasks: Mutex::new(Some(JoinSet::new())),
            shutdown,
        }
    }

    /// Every plugin loaded, by name.
    pub fn slots(&self) -> BTreeMap<String, Arc<PluginSlot>> {
        self.read(|registry| registry.slots.clone())
    }

    /// Every running pipeline, by name.
    pub fn pipelines(&self) -> BTreeMap<String, Arc<RunningPipeline>> {
        self.read(|registry| registry.pipelines.clone())
    }

    /// The running pipeline `name`.
    pub fn pipeline(&self, name: &str) -> Option<Arc<RunningPipeline>> {
        self.read(|registry| registry.pipelines.get(name).cloned())
    }

    /// Adds plugins loaded at start, used by a pipeline or not (they are
    /// reloaded and listed all the same). A name known already keeps its slot.
    pub fn add_plugins(&self, slots: BTreeMap<String, Arc<PluginSlot>>) {
        let mut registry = self.registry.write().unwrap_or_else(PoisonError::into_inner);
        for (name, slot) in slots {
            registry.slots.entry(name).or_insert(slot);
        }
    }

    /// Starts `pipeline` (defined by `config`) into the set, with `new_slots`,
    /// the plugins loaded for it, added in the same step: a refused start
    /// leaves no trace.
    pub fn start(
        &self,
        config: PipelineConfig,
        pipeline: Pipeline,
        new_slots: BTreeMap<String, Arc<PluginSlot>>,
    ) -> Result<(), StartRefused> {
        let mut tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(tasks) = tasks.as_mut().filter(|_| !self.shutdown.is_cancelled()) else {
            return Err(StartRefused::Stopping);
        };
        let mut registry = self.registry.write().unwrap_or_else(PoisonError::into_inner);
        if registry.pipelines.contains_key(&config.name) {
            return Err(StartRefused::AlreadyRunning(config.name));
        }
        for (name, slot) in new_slots {
            registry.slots.entry(name).or_insert(slot);
        }
        let running = RunningPipeline {
            stats: pipeline.stats(),
            pause: pipeline.operator_pause(),
            plugins: pipeline.plugins().to_vec(),
            config,
        };
        registry
            .pipelines
            .insert(running.config.name.clone(), Arc::new(running));
        tasks.spawn(pipeline.run(self.shutdown.child_token()));
        Ok(())
    }

    /// Waits until every pipeline started, before or during the wait, has
    /// ended (at shutdown, or on its own error); their errors. Logs each
    /// failure as it happens.
    pub async fn wait(&self) -> Vec<PipelineError> {
        let mut failures = Vec::new();
        loop {
            // The lock is held for one poll only, so a start can join the set
            // while this waits; the set's waker covers tasks added later.
            let next = std::future::poll_fn(|context| {
                let mut tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
                let polled = match tasks.as_mut() {
                    Some(set) => set.poll_join_next(context),
                    None => std::task::Poll::Ready(None),
                };
                if matches!(polled, std::task::Poll::Ready(None)) {
                    *tasks = None;
                }
                polled
            })
            .await;
            match next {
                None => return failures,
                Some(Ok(Ok(()))) => {}
                Some(Ok(Err(error))) => {
                    tracing::error!(%error, "pipeline ended with an error");
                    failures.push(error);
                }
                Some(Err(error)) => tracing::error!(%error, "pipeline task panicked"),
            }
        }
    }

    fn read<R>(&self, read: impl FnOnce(&Registry) -> R) -> R {
        read(&self.registry.read().unwrap_or_else(PoisonError::into_inner))
    }
}
