//! Hot reload on file change: the folder of every plugin file is watched, and
//! a change to a plugin's path (a rename over it, an in-place write, a symlink
//! swap) reloads that plugin once the writes have settled.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio_util::sync::CancellationToken;

use super::slot::{PluginSlot, ReloadOutcome};

/// Quiet time after the last change before a plugin is reloaded, so a file
/// written in several steps is read once, whole.
pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// Starts watching the plugins' files until `shutdown`.
pub fn watch_plugin_files(slots: Vec<Arc<PluginSlot>>, shutdown: CancellationToken) -> notify::Result<()> {
    let (events_tx, mut events_rx) = unbounded_channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            for path in event.paths {
                let _ = events_tx.send(path);
            }
        }
    })?;
    let mut triggers: HashMap<PathBuf, UnboundedSender<()>> = HashMap::new();
    let mut folders = BTreeSet::new();
    for slot in slots {
        let path = absolute(slot.path());
        if let Some(folder) = path.parent() {
            folders.insert(folder.to_path_buf());
        }
        let (trigger, triggered) = unbounded_channel();
        triggers.insert(path, trigger);
        tokio::spawn(reload_on_change(slot, triggered, shutdown.clone()));
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
                        if let Some(trigger) = triggers.get(&absolute(&path)) {
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

async fn reload_on_change(
    slot: Arc<PluginSlot>,
    mut triggered: tokio::sync::mpsc::UnboundedReceiver<()>,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            event = triggered.recv() => if event.is_none() { return },
        }
        // Wait until the file has been quiet for DEBOUNCE.
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(DEBOUNCE) => break,
                event = triggered.recv() => if event.is_none() { return },
            }
        }
        let reloading = slot.clone();
        let handle = tokio::runtime::Handle::current();
        let result = tokio::task::spawn_blocking(move || {
            let _guard = handle.enter();
            reloading.reload()
        })
        .await;
        match result {
            Ok(Ok(ReloadOutcome::Activated { previous, version })) => {
                tracing::info!(plugin = slot.name(), %previous, %version, "plugin file changed: new version active")
            }
            Ok(Ok(ReloadOutcome::Unchanged { version })) => {
                tracing::debug!(plugin = slot.name(), %version, "plugin file touched; same version")
            }
            Ok(Err(error)) => {
                tracing::error!(plugin = slot.name(), %error, "new plugin version refused; the previous one keeps running")
            }
            Err(error) => tracing::error!(plugin = slot.name(), %error, "plugin reload panicked"),
        }
    }
}
