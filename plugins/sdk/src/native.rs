//! Plugins compiled into the host instead of to wasm (feature `native`), for
//! the benchmark that measures what the sandbox costs.
//!
//! A plugin calls `kv::write(…)`, `sql::insert(…)`, `produce::send(…)` and
//! `log::…` the same way in both builds. In a wasm build these are the
//! component's imports; with this feature, outside wasm, they are the
//! functions below, which hand the call to the [`NativeHost`] the host
//! registered once at start. The host implements it with the same capability
//! code (grant checks, timeouts, backends) that serves wasm plugins, so the
//! only difference between the two builds is the sandbox.
//!
//! This is not a sandbox: native plugin code runs in the host's process with
//! no memory or time limit. It exists for measurements only.
//!
//! With this feature [`export_plugin!`](crate::export_plugin) exports
//! nothing: a host links several plugins, and their component exports (the
//! same `init` and `process-batch` symbols in each) would collide. The host
//! calls the plugin's [`Guest`](crate::Guest) functions directly.

use std::sync::OnceLock;

use crate::kv::{FieldValue, KvError, WriteOp, WriteResult};
use crate::log::Level;
use crate::produce::{Message, ProduceError};
use crate::sql::{InsertOp, SelectOp, SqlError, TableDef, Value};
use crate::state::StateError;

/// What a host running plugins natively provides: the plugin world's imports,
/// with the signatures of the generated import functions (the SDK's types).
///
/// Calls come from whatever thread runs the plugin's `process_batch`; an
/// implementation finds the calling plugin instance from that thread (the
/// fleethost host keeps it in a thread-local around each call).
pub trait NativeHost: Send + Sync {
    /// `kv.write`: applies the writes in order, in one round trip.
    fn kv_write(&self, ops: &[WriteOp]) -> Result<Vec<WriteResult>, KvError>;
    /// `kv.get-many`: reads many string keys in one round trip.
    fn kv_get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, KvError>;
    /// `kv.hash-get-all-many`: reads many whole hashes in one round trip.
    fn kv_hash_get_all_many(&self, keys: &[String]) -> Result<Vec<Vec<FieldValue>>, KvError>;
    /// `sql.ensure-table`: creates the table when missing.
    fn sql_ensure_table(&self, table: &TableDef) -> Result<(), SqlError>;
    /// `sql.insert`: inserts the rows of every op in one transaction.
    fn sql_insert(&self, ops: &[InsertOp]) -> Result<Vec<u64>, SqlError>;
    /// `sql.select`: reads rows by key.
    fn sql_select(&self, query: &SelectOp) -> Result<Vec<Vec<Value>>, SqlError>;
    /// `produce.send`: publishes the messages and waits for the broker's acks.
    fn produce_send(&self, messages: &[Message]) -> Result<(), ProduceError>;
    /// `log.log`: one line into the host's log.
    fn log(&self, level: Level, message: &str);
    /// `state.get-many`; by default native plugins keep no state.
    fn state_get_many(&self, _keys: &[String]) -> Result<Vec<Option<String>>, StateError> {
        Err(StateError::Invalid("this native host keeps no state".into()))
    }
    /// `state.put-many`; by default native plugins keep no state.
    fn state_put_many(&self, _changes: &[(String, Option<String>)]) -> Result<(), StateError> {
        Err(StateError::Invalid("this native host keeps no state".into()))
    }
}

static HOST: OnceLock<&'static dyn NativeHost> = OnceLock::new();

/// Registers the host that serves every native plugin's capability calls in
/// this process. Once per process, before the first plugin call: returns
/// false (and keeps the first host) when one was registered already.
pub fn register(host: &'static dyn NativeHost) -> bool {
    HOST.set(host).is_ok()
}

/// The registered host. A capability call before [`register`] is a bug of the
/// host, not of the plugin: it panics, which the host reports as a trap.
fn host() -> &'static dyn NativeHost {
    *HOST.get().expect(
        "fleethost_plugin_sdk::native: a plugin called a capability, but no NativeHost is registered \
         (the host calls native::register before running native plugins)",
    )
}

/// The `kv` import functions of a native build (re-exported as [`crate::kv`]'s).
pub mod kv {
    use super::*;

    /// Applies the writes in order, in one round trip (see the WIT `kv.write`).
    pub fn write(ops: &[WriteOp]) -> Result<Vec<WriteResult>, KvError> {
        host().kv_write(ops)
    }

    /// Reads many string keys in one round trip (see the WIT `kv.get-many`).
    pub fn get_many(keys: &[String]) -> Result<Vec<Option<String>>, KvError> {
        host().kv_get_many(keys)
    }

    /// Reads many whole hashes in one round trip (see the WIT
    /// `kv.hash-get-all-many`).
    pub fn hash_get_all_many(keys: &[String]) -> Result<Vec<Vec<FieldValue>>, KvError> {
        host().kv_hash_get_all_many(keys)
    }
}

/// The `sql` import functions of a native build (re-exported as [`crate::sql`]'s).
pub mod sql {
    use super::*;

    /// Creates the table when missing (see the WIT `sql.ensure-table`).
    pub fn ensure_table(table: &TableDef) -> Result<(), SqlError> {
        host().sql_ensure_table(table)
    }

    /// Inserts the rows of every op in one transaction (see the WIT `sql.insert`).
    pub fn insert(ops: &[InsertOp]) -> Result<Vec<u64>, SqlError> {
        host().sql_insert(ops)
    }

    /// Reads rows by key (see the WIT `sql.select`).
    pub fn select(query: &SelectOp) -> Result<Vec<Vec<Value>>, SqlError> {
        host().sql_select(query)
    }
}

/// The `produce` import function of a native build (re-exported as
/// [`crate::produce`]'s).
pub mod produce {
    use super::*;

    /// Publishes the messages and waits for the broker's acks (see the WIT
    /// `produce.send`).
    pub fn send(messages: &[Message]) -> Result<(), ProduceError> {
        host().produce_send(messages)
    }
}

/// The `state` import functions of a native build (re-exported as
/// [`crate::state`]'s).
pub mod state {
    use super::*;

    /// The value of each key (see the WIT `state.get-many`).
    pub fn get_many(keys: &[String]) -> Result<Vec<Option<String>>, StateError> {
        host().state_get_many(keys)
    }

    /// Sets or deletes each key (see the WIT `state.put-many`).
    pub fn put_many(changes: &[(String, Option<String>)]) -> Result<(), StateError> {
        host().state_put_many(changes)
    }
}

/// The `log` import function of a native build, behind [`crate::log`]'s helpers.
pub(crate) mod log {
    use super::*;

    /// Writes one line to the host's log (see the WIT `log.log`).
    pub(crate) fn log(level: Level, message: &str) {
        host().log(level, message);
    }
}

/// In a native build, checks that the type implements [`Guest`](crate::Guest)
/// and exports nothing (see the module doc: the host calls the plugin's
/// functions directly, and several plugins' component exports would collide).
#[macro_export]
macro_rules! export_plugin {
    ($ty:ty) => {
        const _: fn() = {
            fn implements_guest<T: $crate::Guest>() {}
            implements_guest::<$ty>
        };
    };
}
