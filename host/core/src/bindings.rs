//! Host-side bindings of every supported version of the `fleethost:plugin`
//! WIT world. The newest is what the host works with; older ones are linked
//! too, through adapters (`runtime/compat_v0_1.rs`), so plugins built
//! against them keep loading.
//!
//! A leaf: generated from `wit/` and importing nothing of the crate, so the
//! capabilities (which implement the interfaces' types) and the runtime
//! (which links them) both import it and not each other.

/// `fleethost:plugin@0.1.0`: locations only; log and kv.
pub mod v0_1 {
    wasmtime::component::bindgen!({
        path: "../../wit/since_v0.1.0",
        world: "plugin",
    });
}

/// `fleethost:plugin@0.2.0`: order events, sql, produce, kv incr/publish.
/// Its types are serde types too: `fleethost test` prints host calls as JSON
/// and replays recorded batches and answers.
pub mod v0_2 {
    wasmtime::component::bindgen!({
        path: "../../wit/since_v0.2.0",
        world: "plugin",
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
    });
}

pub use v0_2::fleethost::plugin::{kv, log, produce, sql, types};
