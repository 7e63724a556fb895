//! A plugin slot: the version of a plugin that new batches use, swapped
//! atomically between batches when a new version passes validation.
//!
//! Hot reload follows Envoy's listener drain: the new version is compiled and
//! validated (supported world, allowed imports, `init` with the plugin's
//! config) off the consumer path; only then is the slot's `Arc` swapped. Each
//! worker picks the current version up at the start of its next batch, so a
//! batch that started on the old version finishes on it. A version that fails
//! [`ROLLBACK_AFTER_FAILURES`] calls among its first [`PROBATION_BATCHES`]
//! batches is replaced by the version it replaced.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use super::engine::PluginRuntime;
use super::plugin::{LoadError, LoadedPlugin};
use super::recorder::PluginRecorder;
use crate::capabilities::Backends;
use crate::config::PluginConfig;

/// Batches a new version must get through before it is trusted.
pub const PROBATION_BATCHES: u32 = 20;
/// Failed calls during probation that put the previous version back.
pub const ROLLBACK_AFTER_FAILURES: u32 = 3;

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// The file holds the version already running.
    Unchanged { version: String },
    /// A new version is active.
    Activated { previous: String, version: String },
}

/// A version on trial after a reload.
struct Probation {
    version: String,
    previous: Arc<LoadedPlugin>,
    batches: u32,
    failures: u32,
}

/// The swappable current version of one plugin.
pub struct PluginSlot {
    name: String,
    config: Mutex<PluginConfig>,
    runtime: PluginRuntime,
    backends: Backends,
    current: ArcSwap<LoadedPlugin>,
    probation: Mutex<Option<Probation>>,
    last_refusal: Mutex<Option<String>>,
    /// Versions rolled back after failing their trial: offered again (the
    /// file still holds one, and any later event re-reads it) they are refused.
    rolled_back: Mutex<HashSet<String>>,
    activations: AtomicU64,
    refusals: AtomicU64,
    /// Serialises reloads (the watcher and the admin interface may ask at once).
    reloading: Mutex<()>,
    /// `fleethost record`'s requests and recordings of this plugin.
    recorder: Arc<PluginRecorder>,
}

impl PluginSlot {
    /// A slot holding `initial`, reloading from `config.path`.
    pub fn new(
        name: &str,
        config: PluginConfig,
        runtime: PluginRuntime,
        backends: Backends,
        initial: Arc<LoadedPlugin>,
    ) -> Self {
        Self {
            name: name.to_string(),
            config: Mutex::new(config),
            runtime,
            backends,
            current: ArcSwap::new(initial),
            probation: Mutex::new(None),
            last_refusal: Mutex::new(None),
            rolled_back: Mutex::new(HashSet::new()),
            activations: AtomicU64::new(0),
            refusals: AtomicU64::new(0),
            reloading: Mutex::new(()),
            recorder: Arc::new(PluginRecorder::new(name)),
        }
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The component file the slot reloads from (as configured, maybe relative).
    pub fn path(&self) -> std::path::PathBuf {
        self.config().path
    }

    /// The plugin's config (path, config map, limits, grants) reloads use.
    pub fn config(&self) -> PluginConfig {
        self.config
            .lock()
            .map(|config| config.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Replaces the plugin's config and reloads with it; a refused reload
    /// puts the previous config back, so a later file change is judged
    /// against the config that runs.
    pub fn reconfigure(&self, config: PluginConfig) -> Result<ReloadOutcome, LoadError> {
        let previous = self.config();
        self.set_config(config);
        let result = self.reload();
        if result.is_err() {
            self.set_config(previous);
        }
        result
    }

    fn set_config(&self, config: PluginConfig) {
        if let Ok(mut current) = self.config.lock() {
            *current = config;
        }
    }

    /// The plugin's recorder: asked by the admin interface, taken up by a
    /// worker.
    pub fn recorder(&self) -> &Arc<PluginRecorder> {
        &self.recorder
    }

    /// The version new batches use.
    pub fn current(&self) -> Arc<LoadedPlugin> {
        self.current.load_full()
    }

    /// New versions activated since start.
    pub fn activations(&self) -> u64 {
        self.activations.load(Ordering::Relaxed)
    }

    /// New versions refused (by validation) or rolled back (after their
    /// trial) since start.
    pub fn refusals(&self) -> u64 {
        self.refusals.load(Ordering::Relaxed)
    }

    /// Why the last reload or trial was refused, if it was.
    pub fn last_refusal(&self) -> Option<String> {
        self.last_refusal.lock().ok().and_then(|refusal| refusal.clone())
    }

    /// Runs `operation` (a reload compiles and runs guest code) on a blocking
    /// thread, so that neither the watcher nor the admin interface stalls an
    /// async worker.
    pub async fn off_the_workers<R: Send + 'static>(
        self: &Arc<Self>,
        operation: impl FnOnce(&PluginSlot) -> R + Send + 'static,
    ) -> Result<R, tokio::task::JoinError> {
        let slot = self.clone();
        tokio::task::spawn_blocking(move || operation(&slot)).await
    }

    /// Loads the file again and, if it holds a new version that compiles,
    /// links and initialises, makes it current. Blocking (compiles and runs
    /// `init`): call off the async workers. A refused version leaves the
    /// current one running; the error says why.
    pub fn reload(&self) -> Result<ReloadOutcome, LoadError> {
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let result = self.try_reload();
        match &result {
            Ok(ReloadOutcome::Activated { .. }) => self.activations.fetch_add(1, Ordering::Relaxed),
            Ok(ReloadOutcome::Unchanged { .. }) => 0,
            Err(_) => self.refusals.fetch_add(1, Ordering::Relaxed),
        };
        if let Ok(mut refusal) = self.last_refusal.lock() {
            *refusal = result.as_ref().err().map(ToString::to_string);
        }
        result
    }

    fn try_reload(&self) -> Result<ReloadOutcome, LoadError> {
        let candidate = LoadedPlugin::load(&self.runtime, &self.name, &self.config(), self.backends.clone())?;
        let previous = self.current();
        if candidate.version() == previous.version() {
            return Ok(ReloadOutcome::Unchanged {
                version: previous.version().to_string(),
            });
        }
        if self
            .rolled_back
            .lock()
            .is_ok_and(|rolled_back| rolled_back.contains(candidate.version()))
        {
            return Err(LoadError::RolledBack {
                name: self.name.clone(),
                version: candidate.version().to_string(),
            });
        }
        candidate.instantiate("reload-check")?;
        let version = candidate.version().to_string();
        if let Ok(mut probation) = self.probation.lock() {
            *probation = Some(Probation {
                version: version.clone(),
                previous: previous.clone(),
                batches: 0,
                failures: 0,
            });
        }
        self.current.store(Arc::new(candidate));
        tracing::info!(plugin = %self.name, previous = previous.version(), %version, "plugin version activated");
        Ok(ReloadOutcome::Activated {
            previous: previous.version().to_string(),
            version,
        })
    }

    /// Tells the slot how a call of `version` went. During a version's
    /// probation, too many failures put the previous version back.
    pub fn report_call(&self, version: &str, succeeded: bool) {
        let Ok(mut probation) = self.probation.lock() else {
            return;
        };
        let Some(trial) = probation.as_mut().filter(|trial| trial.version == version) else {
            return;
        };
        if succeeded {
            trial.batches += 1;
        } else {
            trial.failures += 1;
        }
        if trial.failures >= ROLLBACK_AFTER_FAILURES {
            let reason = format!(
                "version {version} failed {} calls in its first {} batches; rolled back to {}",
                trial.failures,
                trial.batches + trial.failures,
                trial.previous.version()
            );
            tracing::error!(plugin = %self.name, "{reason}");
            self.current.store(trial.previous.clone());
            self.refusals.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut rolled_back) = self.rolled_back.lock() {
                rolled_back.insert(version.to_string());
            }
            if let Ok(mut refusal) = self.last_refusal.lock() {
                *refusal = Some(reason);
            }
            *probation = None;
        } else if trial.batches >= PROBATION_BATCHES {
            tracing::info!(plugin = %self.name, %version, "plugin version passed its probation");
            *probation = None;
        }
    }
}
