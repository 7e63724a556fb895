//! The process-wide wasmtime engine and the epoch ticker that enforces time limits.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, ProfilingStrategy};

use super::host_state::HostState;
use super::native::NativePlugins;
use crate::bindings::{v0_1, v0_2};
use crate::metrics::Families;

/// How often the epoch advances. A call's deadline is a number of ticks, so a
/// runaway plugin overshoots its time limit by at most one tick.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The environment variable that makes plugin code visible to `perf`:
/// `perfmap` writes `/tmp/perf-PID.map` (function names of every compiled
/// plugin), so that `perf record`/`perf report` of the host name the
/// plugin's functions instead of bare addresses. Unset or empty: no profiling
/// agent (the default, it costs nothing).
pub const PROFILER_ENV: &str = "FLEETHOST_WASM_PROFILER";

/// The profiling strategy `value` of [`PROFILER_ENV`] asks for.
pub fn profiling_strategy(value: Option<&str>) -> Result<ProfilingStrategy, String> {
    match value.map(str::trim) {
        None | Some("") | Some("none") => Ok(ProfilingStrategy::None),
        Some("perfmap") => Ok(ProfilingStrategy::PerfMap),
        Some(other) => Err(format!(
            "{PROFILER_ENV}={other:?} is not a profiler: use `perfmap` (or leave it unset)"
        )),
    }
}

/// The engine and linker shared by every plugin of the process.
///
/// Time limits use epoch interruption (cheaper than fuel and out of the
/// guest's control): a background thread advances the epoch every
/// `EPOCH_TICK` (10 ms) and each call sets its own deadline. The ticker holds only
/// a weak reference and ends when the last clone of the engine is dropped.
#[derive(Clone)]
pub struct PluginRuntime {
    engine: Engine,
    linker: Arc<Linker<HostState>>,
    native: Option<Arc<dyn NativePlugins>>,
    metrics: Families,
}

impl PluginRuntime {
    /// Creates the engine, links the host's capabilities and starts the ticker.
    pub fn new() -> wasmtime::Result<Self> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        let profiler = std::env::var(PROFILER_ENV).ok();
        config.profiler(profiling_strategy(profiler.as_deref()).map_err(wasmtime::Error::msg)?);
        // Only the WebAssembly features plugins use (MVP, bulk memory,
        // reference types, multi-value, SIMD; extended constant expressions,
        // which componentize-py's CPython is built with): every other
        // proposal is attack surface without a user. GC, threads, exceptions,
        // stack switching and async components are not even compiled into this
        // build of wasmtime (see host/core/Cargo.toml).
        config
            .wasm_memory64(false)
            .wasm_multi_memory(false)
            .wasm_relaxed_simd(false)
            .wasm_tail_call(false)
            .wasm_wide_arithmetic(false)
            .wasm_custom_page_sizes(false)
            .wasm_extended_const(true);
        let engine = Engine::new(&config)?;

        let mut linker = Linker::new(&engine);
        // WASI is linked with an empty context (no files, no environment, no
        // network): the Rust standard library of a wasm32-wasip2 plugin imports
        // it, but nothing reaches the host's resources through it.
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        // Every supported version of the world: a plugin links against the
        // one it was built for.
        super::link_v0_3::add_to_linker(&mut linker)?;
        v0_2::Plugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)?;
        v0_1::Plugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)?;

        let ticker_engine = engine.weak();
        std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(EPOCH_TICK);
                    match ticker_engine.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(wasmtime::Error::from)?;

        Ok(Self {
            engine,
            linker: Arc::new(linker),
            native: None,
            metrics: Families::default(),
        })
    }

    /// This runtime, running `native:<name>` plugin paths with `registry`'s
    /// code (the benchmark's native contender); without it such paths are
    /// refused.
    pub fn with_native_plugins(mut self, registry: Arc<dyn NativePlugins>) -> Self {
        self.native = Some(registry);
        self
    }

    /// This runtime, counting its plugins' usage into `families` (the
    /// host's registry); without it they count into families no one reads.
    pub fn with_metrics(mut self, families: Families) -> Self {
        self.metrics = families;
        self
    }

    /// The families the plugins' usage is counted into.
    pub fn metrics(&self) -> &Families {
        &self.metrics
    }

    /// The registry of native plugins, if this runtime was given one.
    pub fn native_plugins(&self) -> Option<Arc<dyn NativePlugins>> {
        self.native.clone()
    }

    /// The engine plugins are compiled with.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The linker that provides the host's imports.
    pub fn linker(&self) -> &Linker<HostState> {
        &self.linker
    }
}

/// Epoch ticks for a deadline of `timeout_ms`. The first tick can come at any
/// moment after the deadline is set, so one tick is added: a call always gets
/// its whole limit and is interrupted at most one tick after it.
pub(crate) fn deadline_ticks(timeout_ms: u64) -> u64 {
    let tick_ms = EPOCH_TICK.as_millis() as u64;
    timeout_ms.div_ceil(tick_ms) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profiler_is_off_unless_asked_for() {
        assert!(matches!(profiling_strategy(None), Ok(ProfilingStrategy::None)));
        assert!(matches!(profiling_strategy(Some("")), Ok(ProfilingStrategy::None)));
        assert!(matches!(
            profiling_strategy(Some("perfmap")),
            Ok(ProfilingStrategy::PerfMap)
        ));
        let error = profiling_strategy(Some("vtune")).map(|_| ()).expect_err("refused");
        assert!(error.contains("FLEETHOST_WASM_PROFILER=\"vtune\""), "{error}");
    }
}
