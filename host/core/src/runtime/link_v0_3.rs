//! `fleethost:plugin@0.3.0` in the linker. Its `log`, `kv`, `sql` and
//! `produce` are 0.2.0's unchanged under new names: they are linked here
//! under the 0.3.0 names to the same `Host` implementations (the component
//! model checks types by structure, so 0.2.0's Rust types fit), and only
//! `state` has bindings of its own.

use wasmtime::component::{HasSelf, Linker};

use super::host_state::HostState;
use crate::bindings::kv::{self, FieldValue, KvError, WriteOp, WriteResult};
use crate::bindings::log::{self, Level};
use crate::bindings::produce::{self, Message, ProduceError};
use crate::bindings::sql::{self, InsertOp, SelectOp, SqlError, TableDef, Value};
use crate::bindings::v0_3;

/// Links every interface of 0.3.0.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.instance("fleethost:plugin/types@0.3.0")?;

    let mut instance = linker.instance("fleethost:plugin/log@0.3.0")?;
    instance.func_wrap(
        "log",
        |mut store, (level, message): (Level, String)| -> wasmtime::Result<()> {
            log::Host::log(store.data_mut(), level, message);
            Ok(())
        },
    )?;

    let mut instance = linker.instance("fleethost:plugin/kv@0.3.0")?;
    instance.func_wrap(
        "write",
        |mut store, (ops,): (Vec<WriteOp>,)| -> wasmtime::Result<(Result<Vec<WriteResult>, KvError>,)> {
            Ok((kv::Host::write(store.data_mut(), ops),))
        },
    )?;
    instance.func_wrap(
        "get-many",
        |mut store, (keys,): (Vec<String>,)| -> wasmtime::Result<(Result<Vec<Option<String>>, KvError>,)> {
            Ok((kv::Host::get_many(store.data_mut(), keys),))
        },
    )?;
    instance.func_wrap(
        "hash-get-all-many",
        |mut store, (keys,): (Vec<String>,)| -> wasmtime::Result<(Result<Vec<Vec<FieldValue>>, KvError>,)> {
            Ok((kv::Host::hash_get_all_many(store.data_mut(), keys),))
        },
    )?;

    let mut instance = linker.instance("fleethost:plugin/sql@0.3.0")?;
    instance.func_wrap(
        "ensure-table",
        |mut store, (table,): (TableDef,)| -> wasmtime::Result<(Result<(), SqlError>,)> {
            Ok((sql::Host::ensure_table(store.data_mut(), table),))
        },
    )?;
    instance.func_wrap(
        "insert",
        |mut store, (ops,): (Vec<InsertOp>,)| -> wasmtime::Result<(Result<Vec<u64>, SqlError>,)> {
            Ok((sql::Host::insert(store.data_mut(), ops),))
        },
    )?;
    instance.func_wrap(
        "select",
        |mut store, (query,): (SelectOp,)| -> wasmtime::Result<(Result<Vec<Vec<Value>>, SqlError>,)> {
            Ok((sql::Host::select(store.data_mut(), query),))
        },
    )?;

    let mut instance = linker.instance("fleethost:plugin/produce@0.3.0")?;
    instance.func_wrap(
        "send",
        |mut store, (messages,): (Vec<Message>,)| -> wasmtime::Result<(Result<(), ProduceError>,)> {
            Ok((produce::Host::send(store.data_mut(), messages),))
        },
    )?;

    v0_3::fleethost::plugin::state::add_to_linker::<_, HasSelf<_>>(linker, |state| state)?;
    Ok(())
}
