//! Shared helpers of the integration tests, one concern per file: where the
//! real broker, Redis and PostgreSQL are ([`environment`]), names unique per
//! test ([`names`]), a generated fleet data set ([`fleet`]), topics created,
//! produced to and read back ([`topics`]), a group's commits
//! ([`consumer_group`]), typed configs ([`config`]), the `fleethost` binary
//! as a child process ([`host`], [`server`]), the credentials they accept
//! ([`access`]), what the plugins left in Redis
//! ([`live_state`]) and PostgreSQL ([`history`]), what they published
//! ([`publications`]), and services a test can
//! stop ([`private_redis`], [`tcp_proxy`], [`private_broker`], with
//! [`s3_storage`] as its durable storage), and the test certificates
//! ([`test_tls`]) with a TLS proxy in front of a broker ([`tls_terminator`]).
//!
//! The broker address comes from `FLEETHOST_TEST_BOOTSTRAP` (scripts/test.sh
//! starts Tansu and sets it), Redis from `FLEETHOST_TEST_REDIS`, PostgreSQL
//! from `FLEETHOST_TEST_DATABASE`, the plugins from `FLEETHOST_PLUGIN_DIR`.

#![allow(dead_code)]
// Not every test file uses every helper.
#![allow(unused_imports)]

pub mod access;
pub mod admin;
pub mod chromium;
pub mod concurrent_batches;
pub mod config;
pub mod consumer_group;
pub mod demo_run;
pub mod environment;
pub mod fleet;
pub mod geometry;
pub mod history;
pub mod host;
pub mod live_state;
pub mod names;
pub mod native_example;
pub mod pipes;
pub mod private_broker;
pub mod private_redis;
pub mod publications;
pub mod s3_storage;
pub mod server;
pub mod standalone;
pub mod standalone_broker;
pub mod tcp_proxy;
pub mod test_tls;
pub mod tls_terminator;
pub mod topics;
pub mod wait;

pub use access::{customer_token, driver_token, enable_admin, operator_token, refused_upgrade, token_key_arg};
pub use admin::{admin_get, fleethost, fleethost_command};
pub use config::*;
pub use consumer_group::*;
pub use environment::*;
pub use fleet::*;
pub use history::*;
pub use host::*;
pub use live_state::*;
pub use names::*;
pub use private_redis::*;
pub use publications::*;
pub use tcp_proxy::*;
pub use topics::*;
pub use wait::*;
