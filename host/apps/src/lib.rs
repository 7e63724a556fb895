//! fleethost-apps: the services of a live-tracking system around the
//! consumer host, each a `fleethost` subcommand.
//!
//! [`gateway`] takes drivers' fixes over WebSocket into Kafka, [`tracking`]
//! streams live positions and ETAs to customers, [`simulate`] drives a fleet,
//! [`demo`] runs the whole system on one machine and [`tail`] prints a
//! topic. They use the core only through its public API
//! (`fleethost-core`); docs/architecture.md shows where each sits.

pub mod access;
pub mod demo;
pub mod gateway;
pub mod simulate;
pub mod tail;
#[cfg(test)]
mod test_formats;
pub mod tracking;
