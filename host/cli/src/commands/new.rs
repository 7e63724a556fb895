//! `fleethost new`: a plugin project that builds, tests and deploys, from
//! templates compiled into the binary, in Rust, Python or JavaScript.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use fleethost_core::console;

use crate::templates::{self, Language};

/// Create a plugin project: the plugin (a speed alert to start from), a
/// one-command build (`./build.sh`), sample fixes with the golden output of
/// `fleethost test`, and the config section with the plugin's grants.
#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// The plugin's name: lowercase letters, digits and `-`, starting with a
    /// letter (`speed-alert`).
    pub name: String,
    /// The language of the plugin.
    #[arg(long, value_enum, default_value_t = Language::Rust)]
    pub lang: Language,
    /// Where to create it [default: ./NAME]; must not exist or be empty.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Rust only: the fleethost-plugin-sdk crate the project depends on
    /// [default: the SDK of the source tree this binary was built from].
    #[arg(long)]
    pub sdk: Option<PathBuf>,
}

impl NewArgs {
    /// Writes the project.
    pub async fn execute(self) -> anyhow::Result<()> {
        check_name(&self.name)?;
        let dir = self.dir.clone().unwrap_or_else(|| PathBuf::from(&self.name));
        if dir.exists()
            && std::fs::read_dir(&dir)
                .map(|mut entries| entries.next().is_some())
                .unwrap_or(true)
        {
            bail!("{} exists and is not empty; pick another --dir", dir.display());
        }
        let sdk = match self.lang {
            Language::Rust => Some(self.rust_sdk()?),
            _ => None,
        };
        let files = templates::project(self.lang, &self.name, sdk.as_deref());
        for file in &files {
            let path = dir.join(&file.path);
            if let Some(folder) = path.parent() {
                std::fs::create_dir_all(folder).with_context(|| format!("cannot create {}", folder.display()))?;
            }
            std::fs::write(&path, &file.contents).with_context(|| format!("cannot write {}", path.display()))?;
            if file.executable {
                make_executable(&path)?;
            }
        }
        console::out(&format!(
            "created {} ({}, {} files); next:\n  cd {}\n  ./build.sh\n  fleethost test --plugin-config plugin.toml --fixes fixes.jsonl --expect expected.jsonl",
            dir.display(),
            self.lang.label(),
            files.len(),
            dir.display()
        ));
        Ok(())
    }

    /// The SDK crate a Rust project depends on, as an absolute path.
    fn rust_sdk(&self) -> anyhow::Result<PathBuf> {
        let sdk = match &self.sdk {
            Some(sdk) => sdk.clone(),
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/sdk"),
        };
        if !sdk.join("Cargo.toml").is_file() {
            bail!(
                "no fleethost-plugin-sdk crate at {}: give --sdk with the path of plugins/sdk in a fleethost checkout",
                sdk.display()
            );
        }
        std::fs::canonicalize(&sdk).with_context(|| sdk.display().to_string())
    }
}

/// A name that is a Cargo package, a file name and (with `_`) a Python
/// module alike.
fn check_name(name: &str) -> anyhow::Result<()> {
    let valid = name.starts_with(|first: char| first.is_ascii_lowercase())
        && name
            .chars()
            .all(|char| char.is_ascii_lowercase() || char.is_ascii_digit() || char == '-')
        && !name.ends_with('-');
    if !valid {
        bail!("plugin name {name:?}: use lowercase letters, digits and `-`, starting with a letter (e.g. speed-alert)");
    }
    Ok(())
}

#[cfg(unix)]
fn make_executable(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_package_file_and_module_names() {
        assert!(check_name("speed-alert").is_ok());
        assert!(check_name("geo2").is_ok());
        for bad in ["", "Speed", "2fast", "speed_alert", "speed-", "a b", "../x"] {
            let error = check_name(bad).unwrap_err().to_string();
            assert!(error.contains("lowercase letters"), "{bad}: {error}");
        }
    }
}
