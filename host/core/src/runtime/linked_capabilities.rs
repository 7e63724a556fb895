//! The host's side of the WIT imports: each interface's `Host` trait,
//! implemented for an instance's [`HostState`] by handing the call to the
//! capability object the instance was given (`capabilities/`), which checks
//! the grants and reaches the backend.
//!
//! Kept in the runtime so that the capabilities know nothing of stores and
//! instances: they import the bindings, the runtime imports both. When the
//! instance has a tape, each call and its answer are written to it.

use super::host_state::HostState;
use super::tape::{HostCall, ProducedRecord};
use crate::bindings::kv::{self, FieldValue, KvError, WriteOp, WriteResult};
use crate::bindings::log::{self, Level};
use crate::bindings::produce::{self, Message, ProduceError};
use crate::bindings::sql::{self, InsertOp, SelectOp, SqlError, TableDef, Value};
use crate::bindings::types;
use crate::capabilities::log::write_line;

impl types::Host for HostState {}

impl HostState {
    /// Writes the call `tape_entry` makes of the request and its answer to
    /// the tape, when there is one; the request is cloned only then.
    fn taped<Request: Clone, Answer: Clone>(
        &mut self,
        request: Request,
        call: impl FnOnce(&mut Self, Request) -> Answer,
        tape_entry: impl FnOnce(Request, Answer) -> HostCall,
    ) -> Answer {
        let Some(tape) = self.tape.clone() else {
            return call(self, request);
        };
        let answer = call(self, request.clone());
        tape.push(tape_entry(request, answer.clone()));
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
        if let Some(tape) = &self.tape {
            tape.push(HostCall::Log {
                level,
                message: message.clone(),
            });
        }
        write_line(&self.identity, level, message);
    }
}
