//! The plugin project templates `fleethost new` writes, compiled into the
//! binary so that it needs nothing beside itself: per language the plugin,
//! its build script and SDK layer, and for all of them the WIT world, the
//! config section, sample fixes and their golden output.
//!
//! Placeholders: `{{name}}` (the plugin's name), `{{module}}` (the name with
//! `_` for `-`: the component's file stem), `{{lang}}`, `{{files}}` (the
//! plugin's own files, for the README), `{{guide}}` (the page on plugins in
//! that language) and, for Rust, `{{sdk_path}}`. The SDK layers and the
//! WIT files are copied as they are.

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
    /// The page of the fleethost docs on plugins in this language.
    pub fn guide(self) -> &'static str {
        match self {
            Self::Rust => "docs/writing-a-plugin.md",
            Self::Python => "docs/plugins-python.md",
            Self::Js => "docs/plugins-javascript.md",
        }
    }

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

const PYTHON: [Template; 3] = [
    ("app.py", include_str!("../templates/python/app.py")),
    ("build.sh", include_str!("../templates/python/build.sh")),
    (".gitignore", include_str!("../templates/python/gitignore")),
];

/// The Python SDK layer, as the project's `fleethost_plugin/`.
const PYTHON_SDK: [Template; 12] = [
    (
        "fleethost_plugin/__init__.py",
        include_str!("../../../plugins/sdk-python/fleethost_plugin/__init__.py"),
    ),
    (
        "fleethost_plugin/config.py",
        include_str!("../../../plugins/sdk-python/fleethost_plugin/config.py"),
    ),
    (
        "fleethost_plugin/errors.py",
        include_str!("../../../plugins/sdk-python/fleethost_plugin/errors.py"),
    ),
    (
        "fleethost_plugin/export.py",
        include_str!("../../../plugins/sdk-python/fleethost_plugin/export.py"),
    ),
    (
        "fleethost_plugin/fence_grid.py",
        include_str!("../../../plugins/sdk-python/fleethost_plugin/fence_grid.py"),
    ),
    (
        "fleethost_plugin/geo.py",
        include_str!("../../../plugins/sdk-python/fleethost_plugin/geo.py"),
    ),
    (
        "fleethost_plugin/json_object.py",
        include_str!("../../../plugins/sdk-python/fleethost_plugin/json_object.py"),
    ),
    (
        "fleethost_plugin/kv.py",
        include_str!("../../../plugins/sdk-python/fleethost_plugin/kv.py"),
    ),
    (
        "fleethost_plugin/log.py",
        include_str!("../../../plugins/sdk-python/fleethost_plugin/log.py"),
    ),
    (
        "fleethost_plugin/produce.py",
        include_str!("../../../plugins/sdk-python/fleethost_plugin/produce.py"),
    ),
    (
        "fleethost_plugin/slot.py",
        include_str!("../../../plugins/sdk-python/fleethost_plugin/slot.py"),
    ),
    (
        "fleethost_plugin/sql.py",
        include_str!("../../../plugins/sdk-python/fleethost_plugin/sql.py"),
    ),
];

const JS: [Template; 5] = [
    ("plugin.js", include_str!("../templates/js/plugin.js")),
    ("package.json", include_str!("../templates/js/package.json")),
    ("package-lock.json", include_str!("../templates/js/package-lock.json")),
    ("build.sh", include_str!("../templates/js/build.sh")),
    (".gitignore", include_str!("../templates/js/gitignore")),
];

/// The JavaScript SDK layer, as the project's `fleethost_plugin/`.
const JS_SDK: [Template; 17] = [
    (
        "fleethost_plugin/package.json",
        include_str!("../../../plugins/sdk-js/package.json"),
    ),
    (
        "fleethost_plugin/README.md",
        include_str!("../../../plugins/sdk-js/README.md"),
    ),
    (
        "fleethost_plugin/index.js",
        include_str!("../../../plugins/sdk-js/index.js"),
    ),
    (
        "fleethost_plugin/config.js",
        include_str!("../../../plugins/sdk-js/config.js"),
    ),
    (
        "fleethost_plugin/decimal.js",
        include_str!("../../../plugins/sdk-js/decimal.js"),
    ),
    (
        "fleethost_plugin/define.js",
        include_str!("../../../plugins/sdk-js/define.js"),
    ),
    (
        "fleethost_plugin/errors.js",
        include_str!("../../../plugins/sdk-js/errors.js"),
    ),
    (
        "fleethost_plugin/fence_grid.js",
        include_str!("../../../plugins/sdk-js/fence_grid.js"),
    ),
    (
        "fleethost_plugin/geo.js",
        include_str!("../../../plugins/sdk-js/geo.js"),
    ),
    (
        "fleethost_plugin/json.js",
        include_str!("../../../plugins/sdk-js/json.js"),
    ),
    ("fleethost_plugin/kv.js", include_str!("../../../plugins/sdk-js/kv.js")),
    (
        "fleethost_plugin/kv_ops.js",
        include_str!("../../../plugins/sdk-js/kv_ops.js"),
    ),
    (
        "fleethost_plugin/log.js",
        include_str!("../../../plugins/sdk-js/log.js"),
    ),
    (
        "fleethost_plugin/message.js",
        include_str!("../../../plugins/sdk-js/message.js"),
    ),
    (
        "fleethost_plugin/outcome.js",
        include_str!("../../../plugins/sdk-js/outcome.js"),
    ),
    (
        "fleethost_plugin/produce.js",
        include_str!("../../../plugins/sdk-js/produce.js"),
    ),
    (
        "fleethost_plugin/sql.js",
        include_str!("../../../plugins/sdk-js/sql.js"),
    ),
];

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
            .replace("{{guide}}", language.guide())
    };
    // The Rust SDK is a crate that carries the WIT world; the others are
    // copied into the project with the world.
    let (sdk_files, wit): (&[Template], &[Template]) = match language {
        Language::Rust => (&[], &[]),
        Language::Python => (&PYTHON_SDK, &WIT),
        Language::Js => (&JS_SDK, &WIT),
    };
    let project_files = own.iter().chain(&COMMON).map(|(path, text)| ProjectFile {
        path: fill(path),
        contents: fill(text),
        executable: path.ends_with(".sh"),
    });
    // The SDK and the world as they are: they are no templates.
    let verbatim = sdk_files.iter().chain(wit).map(|(path, text)| ProjectFile {
        path: path.to_string(),
        contents: text.to_string(),
        executable: false,
    });
    project_files.chain(verbatim).collect()
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
            assert!(files.iter().any(|file| file.path == "build.sh" && file.executable));
        }
    }
}
