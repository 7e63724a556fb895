//! Who is calling a capability: the pipeline, plugin and version an
//! instance runs as, attached to its log lines and its denials.

/// Who is running: attached to every log line a plugin writes.
#[derive(Debug, Clone)]
pub struct PluginIdentity {
    /// Pipeline the instance serves.
    pub pipeline: String,
    /// Plugin name from the config.
    pub plugin: String,
    /// Content hash of the component, the plugin's version.
    pub version: String,
}
