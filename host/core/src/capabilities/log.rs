//! The `log` capability: plugin log lines go into the host's log, tagged with
//! the pipeline and the plugin version that wrote them.

use super::identity::PluginIdentity;
use crate::bindings::log::Level;

/// Longest log line a plugin may write; longer ones are cut here.
pub const MAX_LOG_LINE_BYTES: usize = 4096;

/// Writes one plugin log line, cut to [`MAX_LOG_LINE_BYTES`], tagged with who
/// wrote it. Shared by wasm instances and native plugins (benchmark builds),
/// so both log alike.
pub fn write_line(identity: &PluginIdentity, level: Level, mut message: String) {
    if message.len() > MAX_LOG_LINE_BYTES {
        let mut cut = MAX_LOG_LINE_BYTES;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push_str("…[truncated]");
    }
    let (pipeline, plugin, version) = (&identity.pipeline, &identity.plugin, &identity.version);
    match level {
        Level::Trace => {
            tracing::trace!(target: "plugin", %pipeline, %plugin, %version, "{message}")
        }
        Level::Debug => {
            tracing::debug!(target: "plugin", %pipeline, %plugin, %version, "{message}")
        }
        Level::Info => {
            tracing::info!(target: "plugin", %pipeline, %plugin, %version, "{message}")
        }
        Level::Warn => {
            tracing::warn!(target: "plugin", %pipeline, %plugin, %version, "{message}")
        }
        Level::Error => {
            tracing::error!(target: "plugin", %pipeline, %plugin, %version, "{message}")
        }
    }
}
