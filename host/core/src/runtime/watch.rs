//! Hot reload on file change: the folder of every plugin file and of the
//! config file is watched. A change to a plugin's path (a rename over it, an
//! in-place write, a symlink swap) reloads that plugin once the writes have
//! settled; a change to the config file reloads every plugin whose section
//! (path, config map, limits, grants) changed, then hands the config to the
//! host's [`ConfigTarget`], which starts the pipelines it added. Plugins
//! loaded later (an added pipeline's) are watched from then on.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio_util::sync::CancellationToken;

use super::plugin::LoadError;
use super::slot::{PluginSlot, ReloadOutcome};
use crate::config::Config;

/// Quiet time after the last change before a plugin is reloaded, so a file
/// written in several steps is read once, whole.
pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// What the config file, read again after a change, goes through before it
/// is compared with the running plugins: the rewrite the running config got
/// at start (the demo's namespace), so that an edit changes only what it
/// edits.
pub type ConfigRewrite = Arc<dyn Fn(&mut Config) + Send + Sync>;

/// What a config change reaches beyond the plugins' sections: the host's
/// pipelines. A trait so that the runtime does not depend on them.
pub trait ConfigTarget: Send + Sync + 'static {
    /// The plugins that run now, by name: those whose changed section is
    /// reloaded.
    fn slots(&self) -> BTreeMap<String, Arc<PluginSlot>>;

    /// Applies the rest of `config` (valid, rewritten), once its plugins'
    /// sections are reloaded.
    fn apply(&self, config: Config) -> impl Future<Output = ()> + Send;
}

/// Senders to wake per watched path: several plugins may share one file (and
/// the config file is watched too).
type Triggers = Arc<Mutex<HashMap<PathBuf, Vec<UnboundedSender<()>>>>>;

/// The file watcher of a running host, until its `shutdown`.
pub struct FileWatch {
    watcher: Mutex<RecommendedWatcher>,
    folders: Mutex<BTreeSet<PathBuf>>,
    triggers: Triggers,
    shutdown: CancellationToken,
}

impl FileWatch {
    /// A watcher of no file yet, dispatching changes until `shutdown`.
    pub fn start(shutdown: CancellationToken) -> notify::Result<Arc<Self>> {
        let (events_tx, mut events_rx) = unbounded_channel::<PathBuf>();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event {
                // A read changes nothing, and the reload's own read of the
                // file would otherwise trigger the next reload.
                if let EventKind::Access(AccessKind::Open(_) | AccessKind::Read | AccessKind::Close(AccessMode::Read)) =
                    event.kind
                {
                    return;
                }
                for path in event.paths {
                    let _ = events_tx.send(path);
                }
            }
        })?;
        let triggers = Triggers::default();
        let dispatch = (triggers.clone(), shutdown.clone());
        // Ends at shutdown, or when the watcher (and its sender) is dropped.
        tokio::spawn(async move {
            let (triggers, shutdown) = dispatch;
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    path = events_rx.recv() => match path {
                        Some(path) => {
                            let triggers = triggers.lock().unwrap_or_else(PoisonError::into_inner);
                            for trigger in triggers.get(&absolute(&path)).into_iter().flatten() {
                                let _ = trigger.send(());
                            }
                        }
                        None => break,
                    },
                }
            }
        });
        Ok(Arc::new(Self {
            watcher: Mutex::new(watcher),
            folders: Mutex::default(),
            triggers,
            shutdown,
        }))
    }

    /// Reloads `slot` whenever its file changes.
    pub fn watch_plugin(&self, slot: Arc<PluginSlot>) -> notify::Result<()> {
        // A plugin compiled into the host (benchmark builds) has no file;
        // config changes still reach it.
        if crate::config::native_name(&slot.path()).is_some() {
            return Ok(());
        }
        let triggered = self.trigger(&slot.path())?;
        tokio::spawn(reload_on_change(slot, triggered, self.shutdown.clone()));
        Ok(())
    }

    /// Applies the config file at `config_path`, read again through
    /// `rewrite`, to the plugins of `target` and then to `target` whenever
    /// it changes.
    pub fn watch_config<T: ConfigTarget>(
        &self,
        config_path: PathBuf,
        rewrite: Option<ConfigRewrite>,
        target: Arc<T>,
    ) -> notify::Result<()> {
        let triggered = self.trigger(&config_path)?;
        tokio::spawn(reconfigure_on_change(
            target,
            config_path,
            rewrite,
            triggered,
            self.shutdown.clone(),
        ));
        Ok(())
    }

    /// A receiver woken on each change of `path`; its folder is watched from
    /// now on.
    fn trigger(&self, path: &Path) -> notify::Result<UnboundedReceiver<()>> {
        let path = absolute(path);
        let (trigger, triggered) = unbounded_channel();
        self.triggers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(path.clone())
            .or_default()
            .push(trigger);
        if let Some(folder) = path.parent() {
            let mut folders = self.folders.lock().unwrap_or_else(PoisonError::into_inner);
            if !folders.contains(folder) {
                self.watcher
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .watch(folder, RecursiveMode::NonRecursive)?;
                folders.insert(folder.to_path_buf());
            }
        }
        Ok(triggered)
    }
}

/// The path with its folder resolved (not the file: a symlink at the plugin's
/// path is what is watched, not its target).
fn absolute(path: &Path) -> PathBuf {
    let folder = path
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let folder = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
    match path.file_name() {
        Some(name) => folder.join(name),
        None => folder,
    }
}

/// Waits for the next change of a file, then until it has been quiet for
/// [`DEBOUNCE`]. `false` when watching ends.
async fn settled_change(triggered: &mut UnboundedReceiver<()>, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => return false,
        event = triggered.recv() => if event.is_none() { return false },
    }
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return false,
            _ = tokio::time::sleep(DEBOUNCE) => return true,
            event = triggered.recv() => if event.is_none() { return false },
        }
    }
}

/// Runs a slot operation off the async workers; a panic becomes an error.
async fn off_the_workers(
    slot: &Arc<PluginSlot>,
    operation: impl FnOnce(&PluginSlot) -> Result<ReloadOutcome, LoadError> + Send + 'static,
) -> Result<ReloadOutcome, String> {
    match slot.off_the_workers(operation).await {
        Ok(result) => result.map_err(|error| error.to_string()),
        Err(error) => Err(format!("reload panicked: {error}")),
    }
}

fn log_outcome(slot: &PluginSlot, cause: &str, result: Result<ReloadOutcome, String>) {
    match result {
        Ok(ReloadOutcome::Activated { previous, version }) => {
            tracing::info!(plugin = slot.name(), %previous, %version, "{cause} changed: new version active")
        }
        Ok(ReloadOutcome::Unchanged { version }) => {
            tracing::debug!(plugin = slot.name(), %version, "{cause} touched; same version")
        }
        Err(error) => {
            tracing::error!(plugin = slot.name(), %error, "new plugin version refused; the previous one keeps running")
        }
    }
}

async fn reload_on_change(slot: Arc<PluginSlot>, mut triggered: UnboundedReceiver<()>, shutdown: CancellationToken) {
    while settled_change(&mut triggered, &shutdown).await {
        let result = off_the_workers(&slot, PluginSlot::reload).await;
        log_outcome(&slot, "plugin file", result);
    }
}

/// Reloads the plugins whose section of the config file changed, then hands
/// the config to `target` (which starts added pipelines and says what needs
/// a restart). A config that does not load is refused whole.
async fn reconfigure_on_change<T: ConfigTarget>(
    target: Arc<T>,
    config_path: PathBuf,
    rewrite: Option<ConfigRewrite>,
    mut triggered: UnboundedReceiver<()>,
    shutdown: CancellationToken,
) {
    while settled_change(&mut triggered, &shutdown).await {
        let config = match Config::load(&config_path) {
            Ok(mut config) => {
                if let Some(rewrite) = &rewrite {
                    rewrite(&mut config);
                }
                config
            }
            Err(error) => {
                tracing::error!(%error, "config change refused; the running config stays");
                continue;
            }
        };
        for (name, slot) in &target.slots() {
            let Some(plugin_config) = config.plugins.get(name) else {
                continue;
            };
            if *plugin_config == slot.config() {
                continue;
            }
            let new_config = plugin_config.clone();
            let result = off_the_workers(slot, move |slot| slot.reconfigure(new_config)).await;
            log_outcome(slot, "plugin config", result);
        }
        target.apply(config).await;
    }
}
