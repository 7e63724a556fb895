//! Recordings of a plugin at work in a running host (`fleethost record`),
//! kept so that `fleethost test --replay` runs it again bit for bit: a
//! production incident becomes a test.
//!
//! The host records a fresh instance of the plugin in one partition worker
//! (`runtime/recorder.rs`): every host call with its answer, every clock
//! reading, the seeds of its random numbers, and the batches it is given.
//! On disk a recording is a folder (the admin interface sends the same
//! things, but the component, as one JSON document):
//!
//! - `recording.json`: which plugin and version, where, the plugin's config
//!   section (its `path` the component beside it), the seeds, and why the
//!   recording ended;
//! - `batches.jsonl`: each batch the instance was given, one per line;
//! - `expected.jsonl`: what happened, in `fleethost test`'s lines: the host
//!   calls of `init` and of each batch with their answers, and each batch's
//!   outcome; a replay must print exactly these;
//! - `plugin.wasm`: the component that ran.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::report;
use crate::runtime::Batch;
use crate::runtime::recorder::{RecordedRun, RecordingMeta};

/// The file of the recording's description.
pub const META_FILE: &str = "recording.json";
/// The file of the recorded batches.
pub const BATCHES_FILE: &str = "batches.jsonl";
/// The file of what happened: the replay's golden file.
pub const EXPECTED_FILE: &str = "expected.jsonl";
/// The file of the recorded component.
pub const COMPONENT_FILE: &str = "plugin.wasm";

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
    /// The recording of `run`, its outcomes in `fleethost test`'s lines and
    /// its config's `path` the component file beside it.
    pub fn from_run(run: &RecordedRun) -> Self {
        let mut meta = run.meta.clone();
        meta.plugin_config.path = COMPONENT_FILE.into();
        let mut lines: Vec<String> = run
            .init_calls
            .iter()
            .map(|call| report::call_line(report::INIT_TAG, call))
            .collect();
        for (index, recorded) in run.batches.iter().enumerate() {
            let tag = report::batch_tag(index);
            lines.push(report::batch_line(index, &recorded.batch));
            lines.extend(recorded.calls.iter().map(|call| report::call_line(&tag, call)));
            lines.push(report::outcome_line(index, &recorded.batch, &recorded.outcome));
        }
        Self {
            meta,
            batches: run.batches.iter().map(|recorded| recorded.batch.clone()).collect(),
            lines,
        }
    }

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
