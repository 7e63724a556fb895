//! What the host needs to know about a batch, whichever records it carries
//! (location fixes or order events).

use super::Batch;
use crate::capabilities::identity::PluginIdentity;
use crate::capabilities::kv::KvCapability;
use crate::capabilities::kv::write_once::{batch_mark, guard_key};

impl Batch {
    /// Tells `kv` that the writes of `identity`'s plugin until its next call
    /// are this batch's, so that a retry of the batch applies its increments
    /// and publications once (`capabilities/kv/write_once.rs`). Called before
    /// every plugin call, wasm or native.
    pub fn begin_writes(&self, kv: &KvCapability, identity: &PluginIdentity) {
        let (first_offset, last_offset) = self.offset_range();
        kv.begin_batch(
            guard_key(&identity.pipeline, &identity.plugin, &self.topic, self.partition),
            batch_mark(first_offset, last_offset, self.len()),
        );
    }

    /// Number of records: fixes or order events.
    pub fn len(&self) -> usize {
        self.events.len() + self.orders.len()
    }

    /// Bytes of data the batch hands a plugin: its strings at their length,
    /// every number (and flag) at 8 bytes; what usage accounting counts in.
    pub fn payload_bytes(&self) -> u64 {
        let text = |value: &Option<String>| value.as_ref().map_or(0, String::len);
        let events: usize = self
            .events
            .iter()
            .map(|event| event.driver_id.len() + text(&event.region) + text(&event.order_id) + 8 * 6)
            .sum();
        let orders: usize = self
            .orders
            .iter()
            .map(|order| order.order_id.len() + order.driver_id.len() + 8 * 8)
            .sum();
        (events + orders) as u64
    }

    /// Whether the batch carries no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Offsets of the first and last record, `(-1, -1)` when empty; for logs.
    pub fn offset_range(&self) -> (i64, i64) {
        let first = self.events.first().map(|event| event.offset);
        let last = self.events.last().map(|event| event.offset);
        let first = first.or_else(|| self.orders.first().map(|order| order.offset));
        let last = last.or_else(|| self.orders.last().map(|order| order.offset));
        (first.unwrap_or(-1), last.unwrap_or(-1))
    }

    /// The offset of every record, in the order of the records (what a
    /// rejection's index points at).
    pub fn offsets(&self) -> Vec<i64> {
        self.events
            .iter()
            .map(|event| event.offset)
            .chain(self.orders.iter().map(|order| order.offset))
            .collect()
    }

    /// The records at `indices` (positions as in [`Batch::drop_records`]), in
    /// that order, as a batch of the same partition: how a failed batch is
    /// split to find the records that fail on their own.
    pub fn subset(&self, indices: &[usize]) -> Batch {
        fn pick<T: Clone>(items: &[T], indices: &[usize]) -> Vec<T> {
            indices.iter().filter_map(|&index| items.get(index).cloned()).collect()
        }
        Batch {
            pipeline: self.pipeline.clone(),
            topic: self.topic.clone(),
            partition: self.partition,
            events: pick(&self.events, indices),
            orders: pick(&self.orders, indices),
        }
    }

    /// Drops the records whose flag in `dropped` is set (same positions as the
    /// records), keeping the order of the others.
    pub fn drop_records(&mut self, dropped: &[bool]) {
        fn keep<T>(items: &mut Vec<T>, dropped: &[bool]) {
            let mut position = 0;
            items.retain(|_| {
                let keep = !dropped.get(position).copied().unwrap_or(false);
                position += 1;
                keep
            });
        }
        keep(&mut self.events, dropped);
        keep(&mut self.orders, dropped);
    }
}
