//! Guest-side SDK for fleethost plugins written in Rust.
//!
//! It generates the bindings of the `fleethost:plugin` WIT world once, so that a
//! plugin crate only implements [`Guest`] and calls [`export_plugin!`]:
//!
//! ```ignore
//! use fleethost_plugin_sdk::{Batch, BatchOutcome, Guest, PluginError};
//!
//! struct MyPlugin;
//!
//! impl Guest for MyPlugin {
//!     fn init(config: Vec<(String, String)>) -> Result<(), String> { Ok(()) }
//!     fn process_batch(batch: Batch) -> Result<BatchOutcome, PluginError> {
//!         Ok(BatchOutcome { rejected: vec![] })
//!     }
//! }
//!
//! fleethost_plugin_sdk::export_plugin!(MyPlugin);
//! ```
//!
//! Besides the bindings, it holds what plugins would otherwise each write
//! again: [`PluginConfig`] (typed config getters), [`Slot`] (the settings
//! `init` read), [`group`] (a batch per driver), [`hashes`] (all drivers'
//! kv hashes in one read), [`Plan`] (send, then write), [`json`] (message
//! payloads), [`record`] (many values in one hash field, and
//! [`record::Decimal`]: an `f64` as `Display` writes it, faster), [`trip`]
//! (the order lifecycle), [`names`] (the Redis keys and channels the host's
//! tracking service reads too), [`kv::borrowed`] (kv writes without a copy
//! of each string) and [`geo`] (distances, bearings, polygons, an index of
//! many fences and H3 cells).

// The generated export macro names this crate by path, also from inside it.
extern crate self as fleethost_plugin_sdk;

mod borrowed_kv;
#[cfg(not(all(feature = "native", not(target_arch = "wasm32"))))]
#[doc(hidden)]
pub mod cabi_realloc;
mod config;
pub mod geo;
pub mod group;
pub mod hashes;
mod inline_str;
pub mod json;
#[cfg(all(feature = "native", not(target_arch = "wasm32")))]
pub mod native;
mod plan;
pub mod record;
mod slot;
pub mod trip;

pub use config::{ConfigNumber, PluginConfig};
pub use fleethost_record::names;
pub use plan::Plan;
pub use slot::Slot;

#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

/// The raw bindings of the `fleethost:plugin` world, as wit-bindgen generates them.
// Generated code: a flattened record argument (`table-def`), and wit-bindgen's own allow.
#[allow(clippy::too_many_arguments, clippy::duplicated_attributes)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/since_v0.3.0",
        world: "plugin",
        pub_export_macro: true,
        additional_derives: [PartialEq],
        export_macro_name: "__export_plugin_bindings",
        default_bindings_module: "fleethost_plugin_sdk::bindings",
        runtime_path: "fleethost_plugin_sdk::__wit_bindgen::rt",
    });
}

pub use bindings::Guest;
pub use bindings::fleethost::plugin::types::{
    Batch, BatchOutcome, Event, OrderEvent, OrderKind, PluginError, Point, Rejection,
};

/// The `kv` capability: the generated types and import functions of the WIT
/// interface. With the `native` feature (outside wasm) the functions go to the
/// registered `native::NativeHost` instead of a component import.
pub mod kv {
    pub use crate::bindings::fleethost::plugin::kv::*;
    #[cfg(all(feature = "native", not(target_arch = "wasm32")))]
    pub use crate::native::kv::{get_many, hash_get_all_many, write};

    /// The largest latitude, north or south, that a geo member may have:
    /// the store's GEO sets (Redis's) index only the Web Mercator square,
    /// and the host refuses a whole `write` carrying a member beyond it.
    /// Valid fixes can lie beyond it (near the poles): leave them out of
    /// the GEO set rather than fail the call.
    pub const GEO_MAX_LATITUDE: f64 = 85.051_128_78;

    /// Whether a position can be a geo member ([`GEO_MAX_LATITUDE`]).
    pub fn geo_indexable(latitude: f64, longitude: f64) -> bool {
        latitude.abs() <= GEO_MAX_LATITUDE && longitude.abs() <= 180.0
    }

    /// `write` with borrowed ops (`&str` and slices instead of `String` and
    /// `Vec`): no copy of each key, field name and value to allocate, the
    /// same import and results. Prefer it on a hot path.
    pub mod borrowed {
        pub use crate::borrowed_kv::{
            FieldValue, GeoMember, HashSetOp, IncrOp, PublishOp, SetOp, UpsertNewerOp, WriteOp, write,
        };
    }
}

/// The `sql` capability: the generated types and import functions of the WIT
/// interface; with `native` the functions go to the registered
/// `native::NativeHost`.
pub mod sql {
    pub use crate::bindings::fleethost::plugin::sql::*;
    #[cfg(all(feature = "native", not(target_arch = "wasm32")))]
    pub use crate::native::sql::{ensure_table, insert, select};
}

/// The `produce` capability: the generated types and import function of the
/// WIT interface; with `native` the function goes to the registered
/// `native::NativeHost`.
pub mod produce {
    pub use crate::bindings::fleethost::plugin::produce::*;
    #[cfg(all(feature = "native", not(target_arch = "wasm32")))]
    pub use crate::native::produce::send;
}

/// The `state` capability (WIT 0.3.0): keyed state the host keeps for the
/// plugin per partition, read from the host's memory and written behind
/// once per batch, kept only when the batch succeeds. With `native` the
/// functions go to the registered `native::NativeHost`.
pub mod state {
    pub use crate::bindings::fleethost::plugin::state::*;
    #[cfg(all(feature = "native", not(target_arch = "wasm32")))]
    pub use crate::native::state::{get_many, put_many};
}

/// Logging into the host's log, tagged by the host with the plugin's name,
/// version and pipeline.
pub mod log {
    /// Severity of a log line (the WIT `log.level`); a native host receives it.
    pub use crate::bindings::fleethost::plugin::log::Level;
    #[cfg(not(all(feature = "native", not(target_arch = "wasm32"))))]
    use crate::bindings::fleethost::plugin::log::log;
    #[cfg(all(feature = "native", not(target_arch = "wasm32")))]
    use crate::native::log::log;

    /// Logs at debug level.
    pub fn debug(message: &str) {
        log(Level::Debug, message);
    }

    /// Logs at info level.
    pub fn info(message: &str) {
        log(Level::Info, message);
    }

    /// Logs at warn level.
    pub fn warn(message: &str) {
        log(Level::Warn, message);
    }

    /// Logs at error level.
    pub fn error(message: &str) {
        log(Level::Error, message);
    }
}

impl PluginError {
    /// A failure that may pass when the batch is tried again (a backend was down).
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: true,
        }
    }

    /// A failure that will repeat however often the batch is tried.
    pub fn fatal(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
        }
    }
}

impl From<kv::KvError> for PluginError {
    fn from(error: kv::KvError) -> Self {
        match error {
            kv::KvError::Unavailable(message) => Self::retryable(format!("kv unavailable: {message}")),
            kv::KvError::Denied(message) => Self::fatal(format!("kv denied: {message}")),
            kv::KvError::Invalid(message) => Self::fatal(format!("kv invalid request: {message}")),
        }
    }
}

impl From<state::StateError> for PluginError {
    fn from(error: state::StateError) -> Self {
        match error {
            state::StateError::Unavailable(message) => Self::retryable(format!("state unavailable: {message}")),
            state::StateError::Invalid(message) => Self::fatal(format!("state invalid request: {message}")),
        }
    }
}

impl From<sql::SqlError> for PluginError {
    fn from(error: sql::SqlError) -> Self {
        match error {
            sql::SqlError::Unavailable(message) => Self::retryable(format!("sql unavailable: {message}")),
            sql::SqlError::Denied(message) => Self::fatal(format!("sql denied: {message}")),
            sql::SqlError::Invalid(message) => Self::fatal(format!("sql invalid request: {message}")),
        }
    }
}

impl From<produce::ProduceError> for PluginError {
    fn from(error: produce::ProduceError) -> Self {
        match error {
            produce::ProduceError::Unavailable(message) => Self::retryable(format!("produce unavailable: {message}")),
            produce::ProduceError::Denied(message) => Self::fatal(format!("produce denied: {message}")),
            produce::ProduceError::Invalid(message) => Self::fatal(format!("produce invalid request: {message}")),
        }
    }
}

impl produce::Message {
    /// A message with a JSON (or any text) payload and no headers.
    pub fn text(topic: &str, key: &str, payload: String) -> Self {
        Self {
            topic: topic.to_string(),
            key: Some(key.to_string()),
            payload: payload.into_bytes(),
            headers: Vec::new(),
        }
    }
}

impl kv::WriteOp {
    /// A hash-set write: sets the given fields of the hash at `key`, leaving
    /// its other fields alone.
    pub fn hash_set(key: &str, fields: Vec<kv::FieldValue>) -> Self {
        Self::HashSet(kv::HashSetOp {
            key: key.to_string(),
            fields,
        })
    }
}

impl kv::FieldValue {
    /// A hash field.
    pub fn new(field: &str, value: impl ToString) -> Self {
        Self {
            field: field.to_string(),
            value: value.to_string(),
        }
    }
}

impl Batch {
    /// Number of records in the batch (location fixes or order events).
    pub fn len(&self) -> usize {
        self.events.len() + self.orders.len()
    }

    /// Whether the batch holds no record (the host never sends one).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
