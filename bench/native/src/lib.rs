//! fleethost-native: the five example plugins compiled into the host, for the
//! benchmark's "what does the sandbox cost" contender.
//!
//! [`linked`] names each plugin's `Guest` functions; [`registry`] hands
//! them to the core's plugin runtime (`NativePlugins`); [`instance`] calls
//! them directly, serving
//! their capability calls with the same capability objects (grants,
//! timeouts, backends) a wasm instance gets; [`convert`] copies values
//! between the SDK's and the host's bindings of the same WIT. The
//! `fleethost-native` binary is the `fleethost` command line with this
//! registry: never a production build (no sandbox).

pub mod convert;
pub mod instance;
pub mod linked;
pub mod registry;

pub use registry::FivePlugins;

/// A conversion between the guest SDK's and the host's generated types.
/// Both are foreign to this crate, so `From` cannot be implemented for them
/// here; this local trait takes its place.
pub trait Convert<T> {
    /// The value as the other side's type.
    fn convert(self) -> T;
}
