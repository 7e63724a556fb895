//! What arrives at fleethost: the location and order events decoded from
//! Kafka messages (docs/events.md), the bounds a pipeline holds them to, and
//! the frames the driver gateway answers a driver app with.
//!
//! Everything here is pure: bytes in, a validated value or an error that
//! names what was wrong out. The host, the gateway and the fuzz targets
//! (fuzz/) share these decoders, so a fix the gateway accepts is one the
//! host accepts.

mod bounds;
pub mod format;
mod format_error;
pub mod gateway_frames;
pub mod location;
pub mod order;

pub use bounds::EventsConfig;
