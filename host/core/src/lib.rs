//! fleethost-core: the consumer host. Kafka consumer groups, batching and
//! at-least-once commits, with each batch passed through sandboxed,
//! hot-reloadable WebAssembly plugins.
//!
//! Data flow: [`kafka`] consumer groups → [`fleethost_event`] decoding → [`pipeline`]
//! batches per partition → [`runtime`] plugin calls → [`capabilities`] (Redis,
//! ...) → offsets committed once a batch is done. [`app`] puts them together
//! for `fleethost run`; [`admin`] serves health, metrics and reloads.
//! docs/architecture.md describes the whole, docs/events.md and
//! docs/configuration.md the contracts.

pub mod admin;
pub mod app;
pub mod auth;
pub mod bindings;
pub mod capabilities;
pub mod config;
pub mod console;
pub mod harness;
pub mod kafka;
pub mod memory;
pub mod metrics;
pub mod pipeline;
pub mod runtime;
pub mod shutdown;
pub mod tls;
