//! Pausing one partition's fetching while its worker cannot make progress.
//!
//! A partition whose batch waits for a backend (the database is down, say)
//! reads nothing from its queue. Left alone, librdkafka would still fetch
//! ahead for it up to its pre-fetch limit, and keep those messages in the
//! host's memory for as long as the outage lasts. Paused, the partition
//! fetches nothing until it resumes; librdkafka then fetches again from the
//! position the worker reached, so nothing is skipped or read twice.

use std::sync::Arc;

use rdkafka::TopicPartitionList;
use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaResult;

use super::consumer::PipelineConsumer;

/// The pause of one assigned partition, owned by its worker's plugin chain,
/// which resumes it when the wait is over and when the worker stops (on a
/// revoke or at shutdown), so no later owner in this process inherits it.
pub struct PartitionPause {
    consumer: Arc<PipelineConsumer>,
    topic: String,
    partition: i32,
    paused: bool,
}

impl PartitionPause {
    /// The pause of `topic`/`partition`, not paused.
    pub fn new(consumer: Arc<PipelineConsumer>, topic: &str, partition: i32) -> Self {
        Self {
            consumer,
            topic: topic.to_string(),
            partition,
            paused: false,
        }
    }

    /// The partition's topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The partition's number.
    pub fn partition(&self) -> i32 {
        self.partition
    }

    /// Whether the partition's fetching is paused now.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Stops fetching for the partition; does nothing when it is paused
    /// already. `Ok(true)` when this call paused it.
    pub fn pause(&mut self) -> KafkaResult<bool> {
        if self.paused {
            return Ok(false);
        }
        self.consumer.pause(&self.partition_list())?;
        self.paused = true;
        Ok(true)
    }

    /// Fetches for the partition again; does nothing when it is not paused.
    /// `Ok(true)` when this call resumed it.
    pub fn resume(&mut self) -> KafkaResult<bool> {
        if !self.paused {
            return Ok(false);
        }
        self.consumer.resume(&self.partition_list())?;
        self.paused = false;
        Ok(true)
    }

    fn partition_list(&self) -> TopicPartitionList {
        let mut list = TopicPartitionList::new();
        list.add_partition(&self.topic, self.partition);
        list
    }
}
