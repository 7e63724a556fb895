//! The plugin project templates `fleethost new` writes, compiled into the
//! binary so that it needs nothing beside itself: per language the plugin,
//! its build script and SDK layer, and for all of them the WIT world, the
//! config section, sample fixes and their golden output.
//!
//! Placeholders: `{{name}}` (the plugin's name), `{{module}}` (the name with
//! `_` for `-`: the component's file stem), `{{lang}}`, `{{files}}` (the
//! plugin's own files, for the README) and, for Rust, `{{sdk_path}}`.

use std::path::Path;

/// A plugin's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Language {
    /// Rust, with the fleethost-plugin-sdk crate (`cargo`, wasm32-wasip2).
    Rust,
    /// Python, with componentize-py (installed by the build into `.venv`).
    Python,
    /// JavaScript, with jco and componentize-js (installed by the build
    /// with npm).
    Js,
}

impl Language {
    /// How the README names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Rust => "Rust",
            Self::Python => "Python",
            Self::Js => "JavaScript",
        }
    }
}

/// One file of a new project.
#[derive(Debug)]
pub struct ProjectFile {
    /// Relative to the project's folder.
    pub path: String,
    pub contents: String,
    /// Whether it is a script to run.
    pub executable: bool,
}

/// A template file: where it goes and its text.
type Template = (&'static str, &'static str);

/// What every project has.
const COMMON: [Template; 4] = [
    ("README.md", include_str!("../templates/common/README.md")),
    ("plugin.toml", include_str!("../templates/common/plugin.toml")),
    ("fixes.jsonl", include_str!("../templates/common/fixes.jsonl")),
    ("expected.jsonl", include_str!("../templates/common/expected.jsonl")),
];

/// The WIT world the plugin implements, as the host serves it.
const WIT: [Template; 6] = [
    ("wit/world.wit", include_str!("../../../wit/since_v0.2.0/world.wit")),
    ("wit/types.wit", include_str!("../../../wit/since_v0.2.0/types.wit")),
    ("wit/log.wit", include_str!("../../../wit/since_v0.2.0/log.wit")),
    ("wit/kv.wit", include_str!("../../../wit/since_v0.2.0/kv.wit")),
    ("wit/sql.wit", include_str!("../../../wit/since_v0.2.0/sql.wit")),
    ("wit/produce.wit", include_str!("../../../wit/since_v0.2.0/produce.wit")),
];

const RUST: [Template; 4] = [
    ("Cargo.toml", include_str!("../templates/rust/Cargo.toml")),
    ("build.sh", include_str!("../templates/rust/build.sh")),
    ("src/lib.rs", include_str!("../templates/rust/src/lib.rs")),
    (".gitignore", include_str!("../templates/rust/gitignore")),
];

const PYTHON: [Template; 0] = [];

const JS: [Template; 0] = [];

/// The files of a new `language` project named `name`; `sdk` is the Rust
/// SDK's path.
pub fn project(language: Language, name: &str, sdk: Option<&Path>) -> Vec<ProjectFile> {
    let own: &[Template] = match language {
        Language::Rust => &RUST,
        Language::Python => &PYTHON,
        Language::Js => &JS,
    };
    let own_files: Vec<String> = own
        .iter()
        .filter(|(path, _)| !path.starts_with('.') && !path.contains('/') || path.starts_with("src/"))
        .map(|(path, _)| format!("`{path}`"))
        .collect();
    let module = name.replace('-', "_");
    let sdk_path = sdk.map(|sdk| sdk.display().to_string()).unwrap_or_default();
    let fill = |text: &str| {
        text.replace("{{name}}", name)
            .replace("{{module}}", &module)
            .replace("{{lang}}", language.label())
            .replace("{{files}}", &own_files.join(", "))
            .replace("{{sdk_path}}", &sdk_path)
    };
    let wit: &[Template] = match language {
        // The Rust SDK carries the WIT world and generates the bindings.
        Language::Rust => &[],
        Language::Python | Language::Js => &WIT,
    };
    own.iter()
        .chain(&COMMON)
        .chain(wit)
        .map(|(path, text)| ProjectFile {
            path: fill(path),
            contents: if path.starts_with("wit/") {
                text.to_string()
            } else {
                fill(text)
            },
            executable: path.ends_with(".sh"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_in_every_file() {
        for language in [Language::Rust, Language::Python, Language::Js] {
            let files = project(language, "speed-alert", Some(Path::new("/sdk")));
            for file in &files {
                assert!(
                    !file.contents.contains("{{"),
                    "{:?} {}: {}",
                    language,
                    file.path,
                    file.contents
                );
            }
            let toml = files.iter().find(|file| file.path == "plugin.toml").unwrap();
            assert!(
                toml.contents.contains("path = \"speed_alert.wasm\""),
                "{}",
                toml.contents
            );
            assert!(files.iter().any(|file| file.path == "build.sh" && file.executable) || language != Language::Rust);
        }
    }
}
