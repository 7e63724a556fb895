//! Proves the source layout keeps no import circles: in every module folder
//! of the host, apps, CLI and benchmark crates, the sibling modules (the
//! files and sub-folders side by side) import each other without a cycle,
//! so that each can be read, and moved, after the ones it uses. A module
//! `a` uses a sibling `b` when a line of `a` outside comments and unit tests
//! names `super::b` (from a file directly in the folder) or the folder's
//! path from the crate root followed by `b`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crates whose folders are checked, relative to the workspace root.
const CRATES: [&str; 6] = [
    "host/event",
    "host/core",
    "host/apps",
    "host/cli",
    "bench",
    "bench/native",
];

/// The `.rs` files under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read a source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
    files
}

/// A file's code as the check reads it: without comment lines and without
/// its unit tests (a `tests.rs` file, or what follows `mod tests`).
fn code(path: &Path) -> String {
    if path.file_name().is_some_and(|name| name == "tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(path).expect("read a source file");
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The identifiers `text` names right after `prefix`: `prefix name` and
/// every name of `prefix{a, b::c}`.
fn names_after(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (start, _) in text.match_indices(prefix) {
        let rest = &text[start + prefix.len()..];
        let group = match rest.strip_prefix('{') {
            Some(inner) => &inner[..inner.find('}').unwrap_or(inner.len())],
            None => rest,
        };
        for part in group.split(',') {
            let name: String = part
                .trim_start()
                .chars()
                .take_while(|character| character.is_alphanumeric() || *character == '_')
                .collect();
            if !name.is_empty() {
                names.insert(name);
            }
            if !rest.starts_with('{') {
                break;
            }
        }
    }
    names
}

/// The sibling modules of `folder` and which of them each one uses.
fn sibling_imports(folder: &Path, module_path: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut modules: BTreeMap<String, Vec<(PathBuf, bool)>> = BTreeMap::new();
    for entry in std::fs::read_dir(folder).expect("read a source folder") {
        let path = entry.expect("a folder entry").path();
        let name = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .unwrap_or_default()
            .to_string();
        if path.is_dir() {
            let files = rust_files(&path).into_iter().map(|file| (file, false));
            modules.entry(name).or_default().extend(files);
        } else if path.extension().is_some_and(|extension| extension == "rs")
            && !["mod", "lib", "main", "tests"].contains(&name.as_str())
        {
            modules.entry(name).or_default().push((path, true));
        }
    }
    let crate_prefix = if module_path.is_empty() {
        "crate::".to_string()
    } else {
        format!("crate::{module_path}::")
    };
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(module, files)| {
            let mut used = BTreeSet::new();
            for (file, direct) in files {
                let code = code(file);
                used.extend(names_after(&code, &crate_prefix));
                if *direct {
                    used.extend(names_after(&code, "super::"));
                }
            }
            let siblings = used
                .into_iter()
                .filter(|name| name != module && names.contains(name))
                .collect();
            (module.clone(), siblings)
        })
        .collect()
}

/// A cycle in `imports`, as the modules on it, if there is one.
fn cycle(imports: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        module: &str,
        imports: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|on_path| on_path == module) {
            let mut found = path[start..].to_vec();
            found.push(module.to_string());
            return Some(found);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_string());
        for used in imports.get(module).into_iter().flatten() {
            if let Some(found) = visit(used, imports, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(module.to_string());
        None
    }
    let mut done = BTreeSet::new();
    imports
        .keys()
        .find_map(|module| visit(module, imports, &mut Vec::new(), &mut done))
}

#[test]
fn no_module_folder_has_an_import_circle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut circles = Vec::new();
    let mut folders_checked = 0;
    for krate in CRATES {
        let src = root.join(krate).join("src");
        let mut folders = vec![(src.clone(), String::new())];
        while let Some((folder, module_path)) = folders.pop() {
            folders_checked += 1;
            if let Some(found) = cycle(&sibling_imports(&folder, &module_path)) {
                circles.push(format!("{}: {}", folder.display(), found.join(" -> ")));
            }
            for entry in std::fs::read_dir(&folder).expect("read a source folder") {
                let path = entry.expect("a folder entry").path();
                if path.is_dir() {
                    let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
                    let child = if module_path.is_empty() {
                        name.to_string()
                    } else {
                        format!("{module_path}::{name}")
                    };
                    folders.push((path, child));
                }
            }
        }
    }
    assert!(
        folders_checked > 20,
        "only {folders_checked} folders found under {CRATES:?}"
    );
    assert!(circles.is_empty(), "import circles:\n{}", circles.join("\n"));
}

#[test]
fn a_circle_is_found_and_a_chain_is_not() {
    let imports = |pairs: &[(&str, &[&str])]| -> BTreeMap<String, BTreeSet<String>> {
        pairs
            .iter()
            .map(|(module, used)| (module.to_string(), used.iter().map(|name| name.to_string()).collect()))
            .collect()
    };
    let circle = imports(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"])]);
    assert_eq!(cycle(&circle).map(|found| found.len()), Some(4));
    let chain = imports(&[("a", &["b"]), ("b", &["c"]), ("c", &[])]);
    assert_eq!(cycle(&chain), None);
    assert_eq!(
        names_after("use super::{engine::deadline_ticks, CallError};", "super::"),
        ["CallError", "engine"].map(String::from).into()
    );
}
