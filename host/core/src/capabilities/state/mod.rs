//! The `state` capability (WIT 0.3.0): keyed state the host keeps for a
//! plugin, one shard per plugin and partition.
//!
//! A partition's shard is loaded from the store the first time a batch of
//! the partition needs it (right after the partition is assigned), held in
//! memory while this process owns the partition, and dropped with the
//! partition's workers on revoke. During a `process-batch` call the plugin
//! reads the shard and buffers its changes in a [`StateCall`]; when the call
//! succeeds the changes and the batch's last offset are written to the store
//! in one transaction, before the worker stores the batch's offsets
//! (`pipeline/chain.rs`). A batch delivered again after a crash is then
//! recognised by that offset and not applied twice; a failed call's changes
//! are discarded. Each load claims the shard, and only the last claimant's
//! writes are taken.

mod call;
mod shard;
mod shards;

pub use call::{CommitError, MAX_KEY_BYTES, MAX_SHARD_BYTES, MAX_VALUE_BYTES, StateCall};
pub use shard::{Shard, store_key};
pub use shards::{SharedShard, StateShards};
