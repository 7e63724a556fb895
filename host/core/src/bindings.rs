//! Host-side bindings of every supported version of the `fleethost:plugin`
//! WIT world. The host works with 0.2.0's types, which 0.3.0 shares; 0.1.0
//! is linked through adapters (`runtime/compat_v0_1.rs`), so plugins built
//! against it keep loading.
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

/// `fleethost:plugin@0.3.0`: the `state` capability. Its other interfaces
/// are 0.2.0's unchanged, so their Rust types are 0.2.0's (`with`), and the
/// host serves both versions with one implementation
/// (`runtime/link_v0_3.rs`); only `state` is generated here.
pub mod v0_3 {
    wasmtime::component::bindgen!({
        path: "../../wit/since_v0.3.0",
        world: "plugin",
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
        with: {
            "fleethost:plugin/types@0.3.0": super::v0_2::fleethost::plugin::types,
            "fleethost:plugin/log@0.3.0": super::v0_2::fleethost::plugin::log,
            "fleethost:plugin/kv@0.3.0": super::v0_2::fleethost::plugin::kv,
            "fleethost:plugin/sql@0.3.0": super::v0_2::fleethost::plugin::sql,
            "fleethost:plugin/produce@0.3.0": super::v0_2::fleethost::plugin::produce,
        },
    });
}

pub use v0_2::fleethost::plugin::{kv, log, produce, sql, types};
pub use v0_3::fleethost::plugin::state;
