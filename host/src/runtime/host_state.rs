//! The data of one plugin instance's `Store`: its WASI context (empty), its
//! resource table and limits, and the capabilities it was granted.

use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::capabilities::kv::KvCapability;

/// Who is running: attached to every log line a plugin writes.
#[derive(Debug, Clone)]
pub struct PluginIdentity {
    /// Pipeline the instance serves.
    pub pipeline: String,
    /// Plugin name from the config.
    pub plugin: String,
    /// Content hash of the component, the plugin's version.
    pub version: String,
}

/// Per-instance host state.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: StoreLimits,
    pub(crate) identity: PluginIdentity,
    pub(crate) kv: KvCapability,
}

impl HostState {
    /// State for a new instance: no WASI resources at all, the given limits and
    /// capabilities.
    pub fn new(identity: PluginIdentity, limits: StoreLimits, kv: KvCapability) -> Self {
        Self {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            limits,
            identity,
            kv,
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
