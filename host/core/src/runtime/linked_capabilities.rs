//! The host's side of the WIT imports: each interface's `Host` trait,
//! implemented for an instance's [`HostState`] by handing the call to the
//! capability object the instance was given (`capabilities/`), which checks
//! the grants and reaches the backend.
//!
//! Kept in the runtime so that the capabilities know nothing of stores and
//! instances: they import the bindings, the runtime imports both.

use super::host_state::HostState;
use crate::bindings::kv::{self, FieldValue, KvError, WriteOp, WriteResult};
use crate::bindings::log::{self, Level};
use crate::bindings::produce::{self, Message, ProduceError};
use crate::bindings::sql::{self, InsertOp, SelectOp, SqlError, TableDef, Value};
use crate::bindings::types;
use crate::capabilities::log::write_line;

impl types::Host for HostState {}

impl kv::Host for HostState {
    fn write(&mut self, ops: Vec<WriteOp>) -> Result<Vec<WriteResult>, KvError> {
        self.kv.write(ops)
    }

    fn get_many(&mut self, keys: Vec<String>) -> Result<Vec<Option<String>>, KvError> {
        self.kv.get_many(keys)
    }

    fn hash_get_all_many(&mut self, keys: Vec<String>) -> Result<Vec<Vec<FieldValue>>, KvError> {
        self.kv.hash_get_all_many(keys)
    }
}

impl sql::Host for HostState {
    fn ensure_table(&mut self, table: TableDef) -> Result<(), SqlError> {
        self.sql.ensure_table(table)
    }

    fn insert(&mut self, ops: Vec<InsertOp>) -> Result<Vec<u64>, SqlError> {
        self.sql.insert(ops)
    }

    fn select(&mut self, query: SelectOp) -> Result<Vec<Vec<Value>>, SqlError> {
        self.sql.select(query)
    }
}

impl produce::Host for HostState {
    fn send(&mut self, messages: Vec<Message>) -> Result<(), ProduceError> {
        self.produce.send(messages)
    }
}

impl log::Host for HostState {
    fn log(&mut self, level: Level, message: String) {
        write_line(&self.identity, level, message);
    }
}
