//! How far a consumer group has committed, read from the broker (Kafka's
//! OffsetFetch) the way any monitoring tool would: a contender is done when
//! its group's committed offsets reach the end of the produced data.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

/// A reader of one group's committed offsets. It never joins the group: it
/// only asks the group coordinator what was committed.
pub struct CommittedOffsets {
    consumer: BaseConsumer,
    partitions: TopicPartitionList,
    /// Per (topic, partition): where the produced data ends.
    ends: BTreeMap<(String, i32), i64>,
}

impl CommittedOffsets {
    /// Watches `group` on the given topics' partitions, whose data ends at `ends`.
    pub fn new(bootstrap: &str, group: &str, ends: BTreeMap<(String, i32), i64>) -> anyhow::Result<Self> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .context("creating the offset reader")?;
        let mut partitions = TopicPartitionList::new();
        for (topic, partition) in ends.keys() {
            partitions.add_partition(topic, *partition);
        }
        Ok(Self {
            consumer,
            partitions,
            ends,
        })
    }

    /// Records committed so far, summed over the partitions (0 before the
    /// group's first commit).
    pub fn committed(&self) -> anyhow::Result<u64> {
        let committed = self
            .consumer
            .committed_offsets(self.partitions.clone(), Duration::from_secs(5))
            .context("reading committed offsets")?;
        Ok(committed
            .elements()
            .iter()
            .map(|element| match element.offset() {
                Offset::Offset(offset) => offset.max(0) as u64,
                _ => 0,
            })
            .sum())
    }

    /// Records in the produced data, summed over the partitions.
    pub fn total(&self) -> u64 {
        self.ends.values().map(|end| *end as u64).sum()
    }
}
