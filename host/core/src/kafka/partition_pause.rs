//! Pausing one partition's fetching while its worker cannot or may not make
//! progress.
//!
//! Two things pause a partition, each on its own: a batch waiting for a
//! backend (the database is down, say), and an operator (`fleethost pause`).
//! A partition whose worker reads nothing from its queue would otherwise
//! still be fetched ahead by librdkafka, up to its pre-fetch limit, and those
//! messages kept in memory for as long as the wait lasts. Paused, the
//! partition fetches nothing until every reason is gone; librdkafka then
//! fetches again from the position the worker reached, so nothing is skipped
//! or read twice.

use std::sync::{Arc, Mutex, PoisonError};

use rdkafka::TopicPartitionList;
use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaResult;

use super::consumer::PipelineConsumer;

/// Why a partition's fetching is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseReason {
    /// Its batch waits for a backend the host found unavailable.
    Backend,
    /// An operator paused it.
    Operator,
}

/// The pause of one assigned partition, shared by its worker (operator
/// pauses) and the worker's plugin chain (backend waits). Each resumes its
/// own reason when it is over and when the worker stops (a revoke, the
/// shutdown), so no later owner in this process inherits it.
#[derive(Clone)]
pub struct PartitionPause {
    consumer: Arc<PipelineConsumer>,
    topic: String,
    partition: i32,
    reasons: Arc<Mutex<Reasons>>,
}

#[derive(Debug, Default)]
struct Reasons {
    backend: bool,
    operator: bool,
}

impl Reasons {
    fn flag(&mut self, reason: PauseReason) -> &mut bool {
        match reason {
            PauseReason::Backend => &mut self.backend,
            PauseReason::Operator => &mut self.operator,
        }
    }

    fn any(&self) -> bool {
        self.backend || self.operator
    }
}

impl PartitionPause {
    /// The pause of `topic`/`partition`, not paused.
    pub fn new(consumer: Arc<PipelineConsumer>, topic: &str, partition: i32) -> Self {
        Self {
            consumer,
            topic: topic.to_string(),
            partition,
            reasons: Arc::default(),
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

    /// Whether `reason` holds the partition paused now.
    pub fn is_paused(&self, reason: PauseReason) -> bool {
        *self.reasons.lock().unwrap_or_else(PoisonError::into_inner).flag(reason)
    }

    /// Pauses the partition for `reason`; does nothing when that reason
    /// holds it already. `Ok(true)` when this call added the reason.
    pub fn pause(&self, reason: PauseReason) -> KafkaResult<bool> {
        let mut reasons = self.reasons.lock().unwrap_or_else(PoisonError::into_inner);
        if *reasons.flag(reason) {
            return Ok(false);
        }
        if !reasons.any() {
            self.consumer.pause(&self.partition_list())?;
        }
        *reasons.flag(reason) = true;
        Ok(true)
    }

    /// Lifts `reason`; the partition fetches again once no reason is left.
    /// `Ok(true)` when this call lifted it.
    pub fn resume(&self, reason: PauseReason) -> KafkaResult<bool> {
        let mut reasons = self.reasons.lock().unwrap_or_else(PoisonError::into_inner);
        if !*reasons.flag(reason) {
            return Ok(false);
        }
        *reasons.flag(reason) = false;
        if !reasons.any()
            && let Err(error) = self.consumer.resume(&self.partition_list())
        {
            *reasons.flag(reason) = true;
            return Err(error);
        }
        Ok(true)
    }

    fn partition_list(&self) -> TopicPartitionList {
        let mut list = TopicPartitionList::new();
        list.add_partition(&self.topic, self.partition);
        list
    }
}
