//! The plugin's memory allocator in wasm: talc instead of wasi-libc's dlmalloc.
//!
//! A plugin allocates for every string the host hands it (each fix's driver
//! id, each field of a hash it reads) and for every string it hands back, and
//! frees them all by the end of the batch: with five pipelines, dlmalloc's
//! `free` and `malloc` were 5.6% of the host's CPU. talc, made for
//! single-threaded wasm, took all five pipelines from 33.9 to 33.2 CPU
//! seconds per million fixes (BENCHMARKS.md). It grows the linear memory as
//! dlmalloc does, so the host's memory cap applies the same way.
//!
//! On by default (feature `talc-allocator`); a plugin with its own
//! `#[global_allocator]` turns the SDK's default features off. Native builds
//! keep the host's allocator.

#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
