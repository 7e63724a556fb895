//! A replay's source of answers: the host calls a recording taped, answered
//! again in order. Each call the plugin makes must be the one recorded at
//! that place (same call, same arguments); it then gets the recorded answer.
//! The first call that is not, or a recorded call the plugin no longer
//! makes, is the replay's divergence: from there on every call is answered
//! with an `invalid` error naming it, and the replay fails.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock};

use super::tape::{HostCall, Tape};
use crate::bindings::kv::KvError;
use crate::bindings::produce::ProduceError;
use crate::bindings::sql::SqlError;
use crate::bindings::state::StateError;

/// The recorded calls still to answer, shared by an instance's capabilities
/// and clocks and by the replay that feeds them.
#[derive(Debug, Clone, Default)]
pub struct TapeReplay {
    state: Arc<Mutex<ReplayState>>,
}

#[derive(Debug, Default)]
struct ReplayState {
    /// Where the calls of `calls` were recorded (`init`, `batch 3`).
    section: String,
    /// Calls of the section answered so far.
    answered: usize,
    calls: VecDeque<HostCall>,
    divergence: Option<Divergence>,
}

/// Where a replay first did something else than the recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Divergence {
    /// `init` or `batch N`.
    pub section: String,
    /// Position of the call in its section, from 0.
    pub index: usize,
    /// What the recording has there (`None`: the recording's calls of the
    /// section had ended).
    pub recorded: Option<HostCall>,
    /// What the plugin did there (`None`: it made no more calls).
    pub replayed: Option<HostCall>,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let describe = |call: &Option<HostCall>| match call {
            Some(call) => request_json(call),
            None => "no call".to_string(),
        };
        write!(
            formatter,
            "{}, call {}: the plugin made {} where the recording has {}",
            self.section,
            self.index,
            describe(&self.replayed),
            describe(&self.recorded)
        )
    }
}

/// A call as JSON without its answer (what the plugin asked); a clock
/// reading with it (the reading is all there is).
fn request_json(call: &HostCall) -> String {
    if let HostCall::WallClock { .. } | HostCall::MonotonicClock { .. } = call {
        return serde_json::to_string(call).expect("host calls serialize");
    }
    let mut value = serde_json::to_value(call).expect("host calls serialize");
    if let Some(object) = value.as_object_mut() {
        object.remove("answer");
    }
    value.to_string()
}

/// An answer a replay can give after diverging: every capability's error
/// has an `invalid` case; a clock reads 0.
pub trait Replayable: Clone + Serialize + DeserializeOwned {
    /// The answer to a call that does not match the recording.
    fn diverged(reason: String) -> Self;
}

impl<T: Clone + Serialize + DeserializeOwned> Replayable for Result<T, KvError> {
    fn diverged(reason: String) -> Self {
        Err(KvError::Invalid(reason))
    }
}

impl<T: Clone + Serialize + DeserializeOwned> Replayable for Result<T, SqlError> {
    fn diverged(reason: String) -> Self {
        Err(SqlError::Invalid(reason))
    }
}

impl<T: Clone + Serialize + DeserializeOwned> Replayable for Result<T, ProduceError> {
    fn diverged(reason: String) -> Self {
        Err(ProduceError::Invalid(reason))
    }
}

impl<T: Clone + Serialize + DeserializeOwned> Replayable for Result<T, StateError> {
    fn diverged(reason: String) -> Self {
        Err(StateError::Invalid(reason))
    }
}

impl Replayable for u64 {
    fn diverged(_reason: String) -> Self {
        0
    }
}

impl TapeReplay {
    /// Starts answering the calls recorded in `section` (`init`, `batch 3`).
    pub fn begin(&self, section: &str, calls: Vec<HostCall>) {
        let mut state = self.lock();
        state.section = section.to_string();
        state.answered = 0;
        state.calls = calls.into();
    }

    /// Ends the section: a recorded call the plugin did not make is a
    /// divergence.
    pub fn end(&self) {
        let mut state = self.lock();
        if state.divergence.is_none()
            && let Some(recorded) = state.calls.pop_front()
        {
            state.divergence = Some(Divergence {
                section: state.section.clone(),
                index: state.answered,
                recorded: Some(recorded),
                replayed: None,
            });
        }
        state.calls.clear();
    }

    /// The first divergence, if there was one.
    pub fn divergence(&self) -> Option<Divergence> {
        self.lock().divergence.clone()
    }

    /// The recorded answer to the call `made` builds from an answer, when
    /// the recording has that call next; an `invalid` answer otherwise.
    pub fn answer<Answer: Replayable>(&self, made: impl Fn(Answer) -> HostCall) -> Answer {
        let mut state = self.lock();
        if state.divergence.is_none() {
            let recorded = state.calls.pop_front();
            if let Some(answer) = recorded.as_ref().and_then(recorded_answer::<Answer>)
                && made(answer.clone()) == *recorded.as_ref().expect("an answer comes from a call")
            {
                state.answered += 1;
                return answer;
            }
            let replayed = made(Answer::diverged(String::new()));
            state.divergence = Some(Divergence {
                section: state.section.clone(),
                index: state.answered,
                recorded,
                replayed: Some(replayed),
            });
        }
        let divergence = state.divergence.as_ref().expect("set above");
        Answer::diverged(format!("replay diverged from the recording at {divergence}"))
    }

    /// Checks that `call` (which has no answer: a log line) is next.
    pub fn expect(&self, call: &HostCall) {
        let mut state = self.lock();
        if state.divergence.is_some() {
            return;
        }
        let recorded = state.calls.pop_front();
        if recorded.as_ref() == Some(call) {
            state.answered += 1;
            return;
        }
        state.divergence = Some(Divergence {
            section: state.section.clone(),
            index: state.answered,
            recorded,
            replayed: Some(call.clone()),
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ReplayState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The `answer` of a recorded call, when it is one of type `Answer`.
fn recorded_answer<Answer: DeserializeOwned>(call: &HostCall) -> Option<Answer> {
    let value = serde_json::to_value(call).ok()?;
    serde_json::from_value(value.get("answer")?.clone()).ok()
}

/// The wall clock of a replayed instance: the recorded readings in order,
/// taped again (when `.1` is given) as the recording taped them.
pub struct ReplayedWallClock(pub TapeReplay, pub Option<Tape>);

impl HostWallClock for ReplayedWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        Duration::from_nanos(replayed_reading(&self.0, self.1.as_ref(), |answer| {
            HostCall::WallClock { answer }
        }))
    }
}

/// The monotonic clock of a replayed instance: the recorded readings in
/// order, taped again.
pub struct ReplayedMonotonicClock(pub TapeReplay, pub Option<Tape>);

impl HostMonotonicClock for ReplayedMonotonicClock {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        replayed_reading(&self.0, self.1.as_ref(), |answer| HostCall::MonotonicClock { answer })
    }
}

/// The next recorded reading of the clock `made` stands for, written to
/// `tape` when there is one.
fn replayed_reading(replay: &TapeReplay, tape: Option<&Tape>, made: impl Fn(u64) -> HostCall) -> u64 {
    let answer = replay.answer(&made);
    if let Some(tape) = tape {
        tape.push(made(answer));
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::log::Level;

    fn get(keys: &[&str], answer: Result<Vec<Option<String>>, KvError>) -> HostCall {
        HostCall::KvGetMany {
            keys: keys.iter().map(|key| key.to_string()).collect(),
            answer,
        }
    }

    #[test]
    fn the_same_calls_get_the_recorded_answers() {
        let replay = TapeReplay::default();
        let recorded = get(&["a"], Ok(vec![Some("1".into())]));
        replay.begin("batch 0", vec![HostCall::WallClock { answer: 7 }, recorded]);
        assert_eq!(ReplayedWallClock(replay.clone(), None).now(), Duration::from_nanos(7));
        let answer = replay.answer(|answer| get(&["a"], answer));
        assert_eq!(answer, Ok(vec![Some("1".into())]));
        replay.end();
        assert_eq!(replay.divergence(), None);
    }

    #[test]
    fn another_call_diverges_and_is_answered_invalid_from_there() {
        let replay = TapeReplay::default();
        replay.begin(
            "batch 2",
            vec![
                HostCall::Log {
                    level: Level::Info,
                    message: "hi".into(),
                },
                get(&["a"], Ok(vec![None])),
            ],
        );
        replay.expect(&HostCall::Log {
            level: Level::Info,
            message: "hi".into(),
        });
        let answer = replay.answer(|answer| get(&["b"], answer));
        let Err(KvError::Invalid(reason)) = answer else {
            panic!("{answer:?}")
        };
        assert_eq!(
            reason,
            r#"replay diverged from the recording at batch 2, call 1: the plugin made {"call":"kv.get-many","keys":["b"]} where the recording has {"call":"kv.get-many","keys":["a"]}"#
        );
        assert_eq!(replay.answer(|answer| HostCall::WallClock { answer }), 0);
        assert_eq!(replay.divergence().unwrap().index, 1);
    }

    #[test]
    fn a_recorded_call_not_made_is_a_divergence() {
        let replay = TapeReplay::default();
        replay.begin("init", vec![HostCall::MonotonicClock { answer: 5 }]);
        replay.end();
        assert_eq!(
            replay.divergence().unwrap().to_string(),
            r#"init, call 0: the plugin made no call where the recording has {"call":"clock.monotonic","answer":5}"#
        );
    }
}
