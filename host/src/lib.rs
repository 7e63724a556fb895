//! fleethost: a Kafka consumer host that runs location-stream logic as
//! sandboxed, hot-reloadable WebAssembly plugins.
//!
//! Data flow: [`kafka`] consumer groups → [`event`] / [`order_event`] decoding → [`pipeline`]
//! batches per partition → [`runtime`] plugin calls → [`capabilities`] (Redis,
//! ...) → offsets committed once a batch is done. docs/architecture.md
//! describes the whole, docs/events.md and docs/configuration.md the contracts.

pub mod admin;
pub mod app;
pub mod capabilities;
pub mod config;
pub mod console;
pub mod demo;
pub mod event;
pub mod gateway;
pub mod kafka;
pub mod memory;
pub mod order_event;
pub mod pipeline;
pub mod runtime;
pub mod shutdown;
pub mod simulate;
pub mod tail;
pub mod tracking;
