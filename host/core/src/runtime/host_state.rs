//! The data of one plugin instance's `Store`: its WASI context (empty but for a
//! bounded stderr buffer), its resource table and limiter, and the
//! capabilities it was granted.

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::inputs::Inputs;
use super::limits::InstanceLimiter;
use super::tape::Tape;
use super::tape_replay::TapeReplay;
use crate::capabilities::identity::PluginIdentity;
use crate::capabilities::kv::KvCapability;
use crate::capabilities::produce::ProduceCapability;
use crate::capabilities::sql::SqlCapability;
use crate::capabilities::state::StateCall;

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
    /// Where the host calls are written, when someone reads them.
    pub(crate) tape: Option<Tape>,
    /// Where the calls are answered from instead of the capabilities, in a
    /// replay.
    pub(crate) replay: Option<TapeReplay>,
    /// The batch's partition's state, lent for one `process-batch` call of a
    /// plugin that keeps state; `None` otherwise.
    pub(crate) state: Option<StateCall>,
}

/// What an instance is made with besides its capabilities: by default the
/// real clocks and random numbers, and no tape.
#[derive(Debug, Clone, Default)]
pub struct InstanceOptions {
    /// Its clocks and random numbers (and, replayed, its calls' answers).
    pub inputs: Inputs,
    /// Where its host calls are written.
    pub tape: Option<Tape>,
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
    /// No directory is preopened, so no path resolves; TCP, UDP and name
    /// lookups are off, so every socket call answers "not permitted".
    pub fn new(
        identity: PluginIdentity,
        limiter: InstanceLimiter,
        capabilities: Capabilities,
        options: InstanceOptions,
    ) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let mut wasi = WasiCtx::builder();
        wasi.stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        options.inputs.apply(&mut wasi, options.tape.as_ref());
        let wasi = wasi.build();
        let replay = match options.inputs {
            Inputs::Replayed(_, replay) => Some(replay),
            _ => None,
        };
        Self {
            wasi,
            table: ResourceTable::new(),
            stderr,
            limiter,
            identity,
            kv: capabilities.kv,
            sql: capabilities.sql,
            produce: capabilities.produce,
            tape: options.tape,
            replay,
            state: None,
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
