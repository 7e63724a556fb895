//! Hot reload on file change: the folder of every plugin file and of the
//! config file is watched. A change to a plugin's path (a rename over it, an
//! in-place write, a symlink swap) reloads that plugin once the writes have
//! settled; a change to the config file reloads every plugin whose section
//! (path, config map, limits, grants) changed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
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

/// Starts watching the plugins' files and the config file until `shutdown`;
/// the config read again goes through `rewrite` when given.
pub fn watch_plugin_files(
    slots: BTreeMap<String, Arc<PluginSlot>>,
    config_path: Option<PathBuf>,
    rewrite: Option<ConfigRewrite>,
    shutdown: CancellationToken,
) -> notify::Result<()> {
    let (events_tx, mut events_rx) = unbounded_channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            for path in event.paths {
                let _ = events_tx.send(path);
            }
        }
    })?;
    // Several plugins may share one file (and the config file is watched too).
    let mut triggers: HashMap<PathBuf, Vec<UnboundedSender<()>>> = HashMap::new();
    let mut folders = BTreeSet::new();
    for slot in slots.values() {
        // A plugin compiled into the host (benchmark builds) has no file;
        // config changes still reach it below.
        if crate::config::native_name(&slot.path()).is_some() {
            continue;
        }
        let path = absolute(&slot.path());
        if let Some(folder) = path.parent() {
            folders.insert(folder.to_path_buf());
        }
        let (trigger, triggered) = unbounded_channel();
        triggers.entry(path).or_default().push(trigger);
        tokio::spawn(reload_on_change(slot.clone(), triggered, shutdown.clone()));
    }
    if let Some(config_path) = config_path {
        let path = absolute(&config_path);
        if let Some(folder) = path.parent() {
            folders.insert(folder.to_path_buf());
        }
        let (trigger, triggered) = unbounded_channel();
        triggers.entry(path).or_default().push(trigger);
        tokio::spawn(reconfigure_on_change(
            slots,
            config_path,
            rewrite,
            triggered,
            shutdown.clone(),
        ));
    }
    for folder in &folders {
        watcher.watch(folder, RecursiveMode::NonRecursive)?;
    }
    tokio::spawn(async move {
        // The watcher lives as long as this task.
        let _watcher = watcher;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                path = events_rx.recv() => match path {
                    Some(path) => {
                        for trigger in triggers.get(&absolute(&path)).into_iter().flatten() {
                            let _ = trigger.send(());
                        }
                    }
                    None => break,
                },
            }
        }
    });
    Ok(())
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

/// Reloads the plugins whose section of the config file changed. Pipelines
/// and added or removed plugins need a restart; that is logged.
async fn reconfigure_on_change(
    slots: BTreeMap<String, Arc<PluginSlot>>,
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
        let configured: BTreeSet<&String> = config.plugins.keys().collect();
        if configured != slots.keys().collect() {
            tracing::warn!(path = %config_path.display(), "plugins were added or removed in the config: restart fleethost to apply that");
        }
        for (name, slot) in &slots {
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
    }
}
