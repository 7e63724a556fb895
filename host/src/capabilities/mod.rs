//! The capabilities plugins import, one file each. A capability's WIT-facing
//! code (the `Host` trait impls) is kept apart from its backend (Redis, ...), so
//! grant checks and backends can be tested and swapped on their own.

pub mod grants;
pub mod kv;
pub mod log;
pub mod redis_kv;

impl crate::runtime::types_host::Host for crate::runtime::HostState {}
