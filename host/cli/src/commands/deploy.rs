//! `fleethost deploy`: a plugin's sections (its pipeline, its plugin) added
//! to the config file of a running host, which starts the pipeline without
//! a restart (hot deploy).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use fleethost_core::config::Config;
use fleethost_core::console;

use crate::snippet;

/// Add the pipelines and plugins of a snippet (the `plugin.toml` that
/// `fleethost new` writes) to a host's config file. A host running from
/// that file starts the added pipelines at once; later builds of the
/// plugin's file are picked up by hot reload, with no second deploy.
#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// The snippet: `[[pipelines]]` and `[plugins.NAME]` sections; plugin
    /// paths relative to its folder.
    pub snippet: PathBuf,
    /// The config file of the running host (`scripts/demo.sh` prints the
    /// demo's).
    #[arg(long, short, env = "FLEETHOST_CONFIG")]
    pub config: PathBuf,
}

impl DeployArgs {
    /// Checks the merged config, then replaces the file in one rename.
    pub async fn execute(self) -> anyhow::Result<()> {
        let snippet = snippet::read(&self.snippet)?;
        let config_text =
            std::fs::read_to_string(&self.config).with_context(|| format!("cannot read {}", self.config.display()))?;
        let config: toml::Table = toml::from_str(&config_text).with_context(|| self.config.display().to_string())?;
        let additions = additions(&snippet, &self.snippet, &config)?;
        if additions.is_empty() {
            console::out(&format!(
                "{}: already in {}; a new build of the plugin's file is picked up by hot reload",
                self.snippet.display(),
                self.config.display()
            ));
            return Ok(());
        }
        let merged = format!(
            "{}\n\n# Added by `fleethost deploy {}`.\n{}",
            config_text.trim_end(),
            self.snippet.display(),
            toml::to_string(&additions).context("the added sections as TOML")?
        );
        // Checked as the host will read it: in the same folder, so that
        // relative paths resolve alike.
        let staged = staged_path(&self.config);
        std::fs::write(&staged, &merged).with_context(|| format!("cannot write {}", staged.display()))?;
        if let Err(error) = Config::load(&staged) {
            let _ = std::fs::remove_file(&staged);
            bail!("the config with {} added is not valid: {error}", self.snippet.display());
        }
        std::fs::rename(&staged, &self.config).with_context(|| format!("cannot replace {}", self.config.display()))?;
        let pipelines: Vec<String> = additions
            .get("pipelines")
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|pipeline| pipeline.get("name").and_then(toml::Value::as_str).map(str::to_string))
            .collect();
        console::out(&format!(
            "deployed to {}: pipeline(s) {}; a host running from it starts them now (its log and `fleethost status` show them)",
            self.config.display(),
            pipelines.join(", ")
        ));
        Ok(())
    }
}

/// The snippet's sections the config does not have yet, plugin paths made
/// absolute. A section the config has with other contents is refused: a
/// running pipeline is redefined by editing the file and restarting.
fn additions(snippet: &toml::Table, snippet_path: &Path, config: &toml::Table) -> anyhow::Result<toml::Table> {
    let folder = std::fs::canonicalize(
        snippet_path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .unwrap_or(Path::new(".")),
    )
    .with_context(|| snippet_path.display().to_string())?;
    let mut additions = toml::Table::new();
    let mut plugins = toml::Table::new();
    let empty = toml::Table::new();
    let configured_plugins = config.get("plugins").and_then(toml::Value::as_table).unwrap_or(&empty);
    for (name, section) in snippet.get("plugins").and_then(toml::Value::as_table).unwrap_or(&empty) {
        let mut section = section.clone();
        if let Some(toml::Value::String(path)) = section.get_mut("path") {
            let absolute = folder.join(&*path);
            *path = absolute.display().to_string();
        }
        match configured_plugins.get(name) {
            None => {
                plugins.insert(name.clone(), section);
            }
            Some(existing) if *existing == section => {}
            Some(_) => bail!(
                "plugins.{name} is already in the config with other settings; edit it there (a change of its section reloads the plugin)"
            ),
        }
    }
    let configured_pipelines = config
        .get("pipelines")
        .and_then(toml::Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let mut pipelines = Vec::new();
    for pipeline in snippet
        .get("pipelines")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = pipeline.get("name").and_then(toml::Value::as_str).unwrap_or_default();
        match configured_pipelines
            .iter()
            .find(|existing| existing.get("name").and_then(toml::Value::as_str) == Some(name))
        {
            None => pipelines.push(pipeline.clone()),
            Some(existing) if existing == pipeline => {}
            Some(_) => bail!(
                "pipeline {name:?} is already in the config with another definition; a running pipeline is redefined by editing the file and restarting"
            ),
        }
    }
    if !pipelines.is_empty() {
        additions.insert("pipelines".into(), toml::Value::Array(pipelines));
    }
    if !plugins.is_empty() {
        additions.insert("plugins".into(), toml::Value::Table(plugins));
    }
    Ok(additions)
}

/// A file beside `config` to stage the merged text in.
fn staged_path(config: &Path) -> PathBuf {
    let name = config
        .file_name()
        .map_or_else(|| "config".into(), |name| name.to_string_lossy().into_owned());
    config.with_file_name(format!(".{name}.deploy-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        toml::from_str(text).unwrap()
    }

    const SNIPPET: &str = r#"
[[pipelines]]
name = "speed-alert"
group_id = "fleethost-speed-alert"
topics = ["rider-updates"]
plugins = ["speed-alert"]

[plugins.speed-alert]
path = "speed_alert.wasm"
grants = { kv_write = ["speeding:"] }
"#;

    #[test]
    fn new_sections_are_added_with_absolute_paths_and_present_ones_skipped() {
        let snippet_path = std::env::temp_dir().join("plugin.toml");
        let added = additions(&table(SNIPPET), &snippet_path, &table("")).unwrap();
        let path = added["plugins"]["speed-alert"]["path"].as_str().unwrap();
        assert!(
            Path::new(path).is_absolute() && path.ends_with("speed_alert.wasm"),
            "{path}"
        );
        assert_eq!(added["pipelines"].as_array().unwrap().len(), 1);
        let config = toml::to_string(&added).unwrap();
        assert!(
            additions(&table(SNIPPET), &snippet_path, &table(&config))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_section_with_other_contents_is_refused_naming_it() {
        let snippet_path = std::env::temp_dir().join("plugin.toml");
        let config = "[[pipelines]]\nname = \"speed-alert\"\ngroup_id = \"other\"\ntopics = [\"x\"]\nplugins = []\n";
        let error = additions(&table(SNIPPET), &snippet_path, &table(config))
            .unwrap_err()
            .to_string();
        assert!(error.contains("pipeline \"speed-alert\""), "{error}");
    }
}
