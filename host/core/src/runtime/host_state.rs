//! The data of one plugin instance's `Store`: its WASI context (empty but for a
//! bounded stderr buffer), its resource table and limiter, and the
//! capabilities it was granted.

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::limits::InstanceLimiter;
use crate::capabilities::identity::PluginIdentity;
use crate::capabilities::kv::KvCapability;
use crate::capabilities::produce::ProduceCapability;
use crate::capabilities::sql::SqlCapability;

/// Bytes of a plugin's stderr kept per instance. A Rust plugin's panic message
/// lands there; it is quoted in the trap's error. Plugins log through the
/// `log` capability, not stderr.
pub const STDERR_CAPACITY: usize = 64 * 1024;

/// Per-instance host state.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    stderr: MemoryOutputPipe,
    pub(crate) limiter: InstanceLimiter,
    pub(crate) identity: PluginIdentity,
    pub(crate) kv: KvCapability,
    pub(crate) sql: SqlCapability,
    pub(crate) produce: ProduceCapability,
}

/// The capabilities one instance is given, each already limited by the
/// plugin's grants.
pub struct Capabilities {
    /// Redis through `kv`.
    pub kv: KvCapability,
    /// PostgreSQL through `sql`.
    pub sql: SqlCapability,
    /// Kafka through `produce`.
    pub produce: ProduceCapability,
}

impl HostState {
    /// State for a new instance: no environment, arguments, files or network;
    /// stdin empty, stdout discarded, stderr kept up to `STDERR_CAPACITY`.
    pub fn new(identity: PluginIdentity, limiter: InstanceLimiter, capabilities: Capabilities) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let wasi = WasiCtx::builder().stderr(stderr.clone()).build();
        Self {
            wasi,
            table: ResourceTable::new(),
            stderr,
            limiter,
            identity,
            kv: capabilities.kv,
            sql: capabilities.sql,
            produce: capabilities.produce,
        }
    }

    /// What the plugin wrote to stderr so far, as text.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.contents()).trim().to_string()
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
