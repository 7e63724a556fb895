//! A plugin's config snippet (the `plugin.toml` of `fleethost new`): its
//! `[[pipelines]]` and `[plugins.NAME]` sections as a TOML table, read by
//! `fleethost test --plugin-config` and `fleethost deploy`.

use std::path::Path;

use anyhow::Context as _;

/// The TOML file at `path` as a table; errors name the file.
pub fn read(path: &Path) -> anyhow::Result<toml::Table> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).with_context(|| path.display().to_string())
}
