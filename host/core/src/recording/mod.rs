//! Recordings of a plugin at work in a running host (`fleethost record`),
//! kept so that `fleethost test --replay` runs it again bit for bit: a
//! production incident becomes a test.
//!
//! A recording starts a fresh instance of the plugin (as a reload does) in
//! one partition worker, tapes every host call with its answer and every
//! clock reading, seeds its random numbers from seeds it keeps, and keeps
//! the next batches that instance is given. On disk it is a folder:
//!
//! - `recording.json`: which plugin and version, where, the plugin's config
//!   section (its `path` the component beside it), the seeds, and why the
//!   recording ended;
//! - `batches.jsonl`: each batch the instance was given, one per line;
//! - `expected.jsonl`: what happened, in `fleethost test`'s lines: the host
//!   calls of `init` and of each batch with their answers, and each batch's
//!   outcome; a replay must print exactly these;
//! - `plugin.wasm`: the component that ran.

pub mod recorder;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::PluginConfig;
use crate::runtime::{Batch, Seeds};

/// The file of the recording's description.
pub const META_FILE: &str = "recording.json";
/// The file of the recorded batches.
pub const BATCHES_FILE: &str = "batches.jsonl";
/// The file of what happened: the replay's golden file.
pub const EXPECTED_FILE: &str = "expected.jsonl";
/// The file of the recorded component.
pub const COMPONENT_FILE: &str = "plugin.wasm";
/// Most batches one recording keeps.
pub const MAX_BATCHES: u32 = 1000;

/// What was recorded, and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingMeta {
    /// The plugin's name in the host's config.
    pub plugin: String,
    /// The version that ran (content hash of the component and its settings).
    pub version: String,
    /// The pipeline whose worker ran it.
    pub pipeline: String,
    /// The partition the worker owned, as `topic/partition`.
    pub partition: String,
    /// When the recording's instance started, in ms since the Unix epoch.
    pub started_ms: i64,
    /// Why the recording ended: its batches were all recorded, or what cut
    /// it short.
    pub ended: String,
    /// The plugin's config section; its `path` is the component file of the
    /// recording.
    pub plugin_config: PluginConfig,
    /// The seeds of the instance's random numbers.
    pub seeds: Seeds,
    /// The host build that recorded.
    pub host_version: String,
}

/// A recording: its description, its batches and what happened to them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recording {
    pub meta: RecordingMeta,
    /// Each batch the instance was given, in order (a retried batch twice).
    pub batches: Vec<Batch>,
    /// What happened, as `fleethost test` prints it.
    pub lines: Vec<String>,
}

/// Why a recording folder cannot be written or read; names the file.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

impl Recording {
    /// Writes the recording (and `component`, when given) into `dir`,
    /// creating it.
    pub fn write(&self, dir: &Path, component: Option<&[u8]>) -> Result<(), RecordingError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| RecordingError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let mut meta = serde_json::to_string_pretty(&self.meta).expect("a recording serializes");
        meta.push('\n');
        let batches: String = self
            .batches
            .iter()
            .map(|batch| serde_json::to_string(batch).expect("a batch serializes") + "\n")
            .collect();
        let expected: String = self.lines.iter().map(|line| format!("{line}\n")).collect();
        let mut files = vec![
            (META_FILE, meta.into_bytes()),
            (BATCHES_FILE, batches.into_bytes()),
            (EXPECTED_FILE, expected.into_bytes()),
        ];
        if let Some(component) = component {
            files.push((COMPONENT_FILE, component.to_vec()));
        }
        for (name, contents) in files {
            let path = dir.join(name);
            std::fs::write(&path, contents).map_err(io(&path))?;
        }
        Ok(())
    }

    /// Reads the recording in `dir`. The plugin config's `path` is made
    /// `dir/plugin.wasm`.
    pub fn read(dir: &Path) -> Result<Self, RecordingError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path)
                .map(|text| (path.clone(), text))
                .map_err(|source| RecordingError::Io { path, source })
        };
        let (meta_path, meta) = read(META_FILE)?;
        let invalid = |path: &Path, line: usize, error: &dyn std::fmt::Display| RecordingError::Invalid {
            path: path.to_path_buf(),
            line,
            message: error.to_string(),
        };
        let mut meta: RecordingMeta =
            serde_json::from_str(&meta).map_err(|error| invalid(&meta_path, error.line(), &error))?;
        meta.seeds.validate().map_err(|error| invalid(&meta_path, 1, &error))?;
        meta.plugin_config.path = dir.join(COMPONENT_FILE);
        let (batches_path, batches) = read(BATCHES_FILE)?;
        let batches = lines(&batches)
            .map(|(line, text)| serde_json::from_str(text).map_err(|error| invalid(&batches_path, line, &error)))
            .collect::<Result<_, _>>()?;
        let (_, expected) = read(EXPECTED_FILE)?;
        let lines = lines(&expected).map(|(_, text)| text.to_string()).collect();
        Ok(Self { meta, batches, lines })
    }
}

/// The non-blank lines of `text`, numbered from 1.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| (index + 1, line))
}
