//! `fleethost test --replay`: a recorded plugin run again on its recorded
//! batches, its host calls answered and its clocks read from the recording,
//! its random numbers from the recording's seeds. The lines it prints are
//! compared with the recording's: the same component gives the same lines,
//! bit for bit; a changed one shows where it starts to act differently.

use super::recording::Recording;
use super::{Harness, HarnessError, report};
use crate::config::PluginConfig;
use crate::runtime::tape::HostCall;
use crate::runtime::{Divergence, Inputs, TapeReplay};

/// What a replay did.
#[derive(Debug)]
pub struct ReplayRun {
    /// Its lines, in `fleethost test`'s format.
    pub lines: Vec<String>,
    /// Where it first did otherwise than the recording.
    pub divergence: Option<Divergence>,
    /// The version replayed (the recording names the version recorded).
    pub version: String,
}

/// Why a recording's lines cannot be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("expected.jsonl line {line}: {message}")]
    Line { line: usize, message: String },
    #[error(transparent)]
    Harness(#[from] HarnessError),
}

/// The recorded host calls: `init`'s, then each batch's.
struct RecordedCalls {
    init: Vec<HostCall>,
    batches: Vec<Vec<HostCall>>,
}

/// Replays `recording` with the plugin `plugin` (its component, config map
/// and limits; by default those of the recording). Blocking, inside a tokio
/// runtime context, like [`Harness::start`].
pub fn replay(recording: &Recording, plugin: &PluginConfig) -> Result<ReplayRun, ReplayError> {
    let mut recorded = recorded_calls(&recording.lines, recording.batches.len())?;
    let replay = TapeReplay::default();
    replay.begin("init", std::mem::take(&mut recorded.init));
    let mut harness = Harness::start(
        &recording.meta.plugin,
        plugin,
        Inputs::Replayed(recording.meta.seeds.clone(), replay.clone()),
    )?;
    replay.end();
    let mut lines: Vec<String> = harness
        .init_calls()
        .iter()
        .map(|call| report::call_line(report::INIT_TAG, call))
        .collect();
    for (index, (batch, calls)) in recording.batches.iter().zip(recorded.batches).enumerate() {
        lines.push(report::batch_line(index, batch));
        replay.begin(&format!("batch {index}"), calls);
        let run = harness.run(batch)?;
        replay.end();
        let tag = report::batch_tag(index);
        lines.extend(run.calls.iter().map(|call| report::call_line(&tag, call)));
        lines.push(report::outcome_line(index, batch, &run.outcome));
    }
    Ok(ReplayRun {
        lines,
        divergence: replay.divergence(),
        version: harness.version().to_string(),
    })
}

/// The host calls in `lines`, by section; `batches` batches were recorded.
fn recorded_calls(lines: &[String], batches: usize) -> Result<RecordedCalls, ReplayError> {
    let mut recorded = RecordedCalls {
        init: Vec::new(),
        batches: vec![Vec::new(); batches],
    };
    for (index, line) in lines.iter().enumerate() {
        let error = |message: String| ReplayError::Line {
            line: index + 1,
            message,
        };
        let mut value: serde_json::Value =
            serde_json::from_str(line).map_err(|parse| error(format!("not JSON: {parse}")))?;
        let Some(object) = value.as_object_mut() else {
            return Err(error("not a JSON object".into()));
        };
        if !object.contains_key("call") {
            continue;
        }
        let section = match (object.remove("init"), object.remove("batch")) {
            (Some(_), None) => None,
            (None, Some(batch)) => Some(
                batch
                    .as_u64()
                    .map(|batch| batch as usize)
                    .filter(|batch| *batch < batches)
                    .ok_or_else(|| error(format!("\"batch\":{batch} names no recorded batch")))?,
            ),
            _ => return Err(error("a call line has \"init\" or \"batch\"".into())),
        };
        let call: HostCall =
            serde_json::from_value(value).map_err(|parse| error(format!("not a host call: {parse}")))?;
        match section {
            None => recorded.init.push(call),
            Some(batch) => recorded.batches[batch].push(call),
        }
    }
    Ok(recorded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_sorted_into_init_and_batches() {
        let lines = [
            r#"{"init":true,"call":"clock.wall","answer":5}"#,
            r#"{"batch":0,"topic":"t","partition":0,"offsets":[1,1],"records":1}"#,
            r#"{"batch":0,"call":"log","level":"Info","message":"m"}"#,
            r#"{"batch":0,"outcome":{"rejected":[]}}"#,
        ]
        .map(String::from);
        let recorded = recorded_calls(&lines, 1).unwrap();
        assert_eq!(recorded.init, [HostCall::WallClock { answer: 5 }]);
        assert_eq!(recorded.batches[0].len(), 1);
        let error = recorded_calls(&lines, 0).err().unwrap();
        assert_eq!(
            error.to_string(),
            "expected.jsonl line 3: \"batch\":0 names no recorded batch"
        );
    }
}
