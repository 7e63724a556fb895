//! The host's side of the WIT imports: each interface's `Host` trait,
//! implemented for an instance's [`HostState`] by handing the call to the
//! capability object the instance was given (`capabilities/`), which checks
//! the grants and reaches the backend.
//!
//! Kept in the runtime so that the capabilities know nothing of stores and
//! instances: they import the bindings, the runtime imports both. When the
//! instance has a tape, each call and its answer are written to it; when it
//! replays a recording, the recording answers instead of the capability.

use super::host_state::HostState;
use super::tape::{HostCall, ProducedRecord};
use super::tape_replay::Replayable;
use crate::bindings::kv::{self, FieldValue, KvError, WriteOp, WriteResult};
use crate::bindings::log::{self, Level};
use crate::bindings::produce::{self, Message, ProduceError};
use crate::bindings::sql::{self, InsertOp, SelectOp, SqlError, TableDef, Value};
use crate::bindings::state::{self, StateError};
use crate::bindings::types;
use crate::capabilities::log::write_line;

impl types::Host for HostState {}

impl HostState {
    /// Answers `request` with `call` (the capability), or in a replay with
    /// the recording's answer, and writes the call `tape_entry` makes of the
    /// request and its answer to the tape, when there is one; the request is
    /// cloned only then.
    fn taped<Request: Clone, Answer: Replayable>(
        &mut self,
        request: Request,
        call: impl FnOnce(&mut Self, Request) -> Answer,
        tape_entry: impl Fn(Request, Answer) -> HostCall,
    ) -> Answer {
        let answer = match &self.replay {
            Some(replay) => replay.answer(|answer| tape_entry(request.clone(), answer)),
            None if self.tape.is_none() => return call(self, request),
            None => call(self, request.clone()),
        };
        if let Some(tape) = &self.tape {
            tape.push(tape_entry(request, answer.clone()));
        }
        answer
    }
}

impl kv::Host for HostState {
    fn write(&mut self, ops: Vec<WriteOp>) -> Result<Vec<WriteResult>, KvError> {
        self.taped(
            ops,
            |state, ops| state.kv.write(ops),
            |ops, answer| HostCall::KvWrite { ops, answer },
        )
    }

    fn get_many(&mut self, keys: Vec<String>) -> Result<Vec<Option<String>>, KvError> {
        self.taped(
            keys,
            |state, keys| state.kv.get_many(keys),
            |keys, answer| HostCall::KvGetMany { keys, answer },
        )
    }

    fn hash_get_all_many(&mut self, keys: Vec<String>) -> Result<Vec<Vec<FieldValue>>, KvError> {
        self.taped(
            keys,
            |state, keys| state.kv.hash_get_all_many(keys),
            |keys, answer| HostCall::KvHashGetAllMany { keys, answer },
        )
    }
}

impl sql::Host for HostState {
    fn ensure_table(&mut self, table: TableDef) -> Result<(), SqlError> {
        self.taped(
            table,
            |state, table| state.sql.ensure_table(table),
            |table, answer| HostCall::SqlEnsureTable { table, answer },
        )
    }

    fn insert(&mut self, ops: Vec<InsertOp>) -> Result<Vec<u64>, SqlError> {
        self.taped(
            ops,
            |state, ops| state.sql.insert(ops),
            |ops, answer| HostCall::SqlInsert { ops, answer },
        )
    }

    fn select(&mut self, query: SelectOp) -> Result<Vec<Vec<Value>>, SqlError> {
        self.taped(
            query,
            |state, query| state.sql.select(query),
            |query, answer| HostCall::SqlSelect { query, answer },
        )
    }
}

impl state::Host for HostState {
    fn get_many(&mut self, keys: Vec<String>) -> Result<Vec<Option<String>>, StateError> {
        self.taped(
            keys,
            |host, keys| host.state.as_ref().ok_or_else(no_state)?.get_many(keys),
            |keys, answer| HostCall::StateGetMany { keys, answer },
        )
    }

    fn put_many(&mut self, changes: Vec<(String, Option<String>)>) -> Result<(), StateError> {
        self.taped(
            changes,
            |host, changes| host.state.as_mut().ok_or_else(no_state)?.put_many(changes),
            |changes, answer| HostCall::StatePutMany { changes, answer },
        )
    }
}

/// The answer to a state call without a partition's state lent: in `init`,
/// or where the host keeps none (a redrive, a shadow replay).
fn no_state() -> StateError {
    StateError::Invalid(
        "no partition's state here: state is kept per partition, for process-batch of a pipeline's batch".into(),
    )
}

impl produce::Host for HostState {
    fn send(&mut self, messages: Vec<Message>) -> Result<(), ProduceError> {
        self.taped(
            messages,
            |state, messages| state.produce.send(messages),
            |messages, answer| HostCall::ProduceSend {
                messages: messages.iter().map(ProducedRecord::new).collect(),
                answer,
            },
        )
    }
}

impl log::Host for HostState {
    fn log(&mut self, level: Level, message: String) {
        if self.tape.is_some() || self.replay.is_some() {
            let call = HostCall::Log {
                level,
                message: message.clone(),
            };
            if let Some(replay) = &self.replay {
                replay.expect(&call);
            }
            if let Some(tape) = &self.tape {
                tape.push(call);
            }
        }
        write_line(&self.identity, level, message);
    }
}
