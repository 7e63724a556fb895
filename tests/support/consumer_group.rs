//! A consumer group's committed offsets, and waiting for the host to commit
//! past what a test produced.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::{Position, bootstrap};

fn offsets_consumer(bootstrap: &str, group: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer")
}

/// The group's committed offset per partition (-1 where none).
pub fn committed_offsets(group: &str, topic: &str, partitions: i32) -> Vec<i64> {
    committed_offsets_at(&bootstrap(), group, topic, partitions)
}

/// [`committed_offsets`] on the broker at `bootstrap`.
pub fn committed_offsets_at(bootstrap: &str, group: &str, topic: &str, partitions: i32) -> Vec<i64> {
    let consumer = offsets_consumer(bootstrap, group);
    let mut list = TopicPartitionList::new();
    for partition in 0..partitions {
        list.add_partition(topic, partition);
    }
    let committed = consumer
        .committed_offsets(list, Duration::from_secs(10))
        .expect("committed offsets");
    (0..partitions)
        .map(|partition| {
            match committed
                .find_partition(topic, partition)
                .map(|element| element.offset())
            {
                Some(Offset::Offset(offset)) => offset,
                _ => -1,
            }
        })
        .collect()
}

/// The messages `group` committed on the broker at `bootstrap`, over all
/// partitions of `topic` (a partition without a commit counts 0).
pub fn committed_total_at(bootstrap: &str, group: &str, topic: &str, partitions: i32) -> i64 {
    committed_offsets_at(bootstrap, group, topic, partitions)
        .into_iter()
        .map(|offset| offset.max(0))
        .sum()
}

/// The end offset (last offset + 1) per partition of the messages produced at
/// `positions`. Taken from the delivery reports rather than ListOffsets, whose
/// answer some Kafka-compatible brokers compute per record batch.
pub fn end_offsets(positions: &[Position], partitions: i32) -> Vec<i64> {
    (0..partitions)
        .map(|partition| {
            positions
                .iter()
                .filter(|position| position.partition == partition)
                .map(|position| position.offset + 1)
                .max()
                .unwrap_or(0)
        })
        .collect()
}

/// Waits until the group committed every partition up to `ends`.
pub fn wait_for_commits(group: &str, topic: &str, ends: &[i64], timeout: Duration) {
    wait_for_commits_at(&bootstrap(), group, topic, ends, timeout);
}

/// [`wait_for_commits`] on the broker at `bootstrap`.
pub fn wait_for_commits_at(bootstrap: &str, group: &str, topic: &str, ends: &[i64], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let committed = committed_offsets_at(bootstrap, group, topic, ends.len() as i32);
        // A partition that never got a message has nothing to commit (-1).
        if committed
            .iter()
            .zip(ends)
            .all(|(committed, end)| (*committed).max(0) == *end)
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "group {group} committed {committed:?}, end offsets {ends:?} after {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Waits until `group` committed `topic` past every message produced at
/// `positions` (partitions that got none count as done).
pub fn wait_until_consumed(group: &str, topic: &str, partitions: i32, positions: &[Position], timeout: Duration) {
    wait_for_commits(group, topic, &end_offsets(positions, partitions), timeout);
}
