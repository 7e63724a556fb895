//! What an operator paused in one pipeline (`fleethost pause`, the admin
//! interface's `POST /pipelines/{name}/pause`): the whole pipeline or some
//! of its partitions. The partition workers watch it: a paused partition
//! finishes its in-flight batch, stores its offset and stops fetching;
//! nothing is dropped and no offset moves until it is resumed. The pause
//! belongs to this process: a partition the group hands to another host is
//! not paused there, and a restart forgets it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// The partitions an operator paused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PausedPartitions {
    /// Every partition of the pipeline, assigned now or later.
    pub all: bool,
    /// These partition numbers, of every topic the pipeline consumes.
    pub partitions: BTreeSet<i32>,
}

impl PausedPartitions {
    /// Whether `partition` is paused.
    pub fn covers(&self, partition: i32) -> bool {
        self.all || self.partitions.contains(&partition)
    }

    /// Whether anything is paused.
    pub fn any(&self) -> bool {
        self.all || !self.partitions.is_empty()
    }
}

/// Why a resume was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PauseError {
    /// One partition of a pipeline paused as a whole cannot be resumed
    /// alone: which ones stay paused would be a guess.
    #[error("the whole pipeline is paused; resume it whole (without --partition)")]
    WholePipelinePaused,
}

/// The operator's pauses of one pipeline, shared by the admin interface
/// (which changes them) and the partition workers (which watch them).
#[derive(Debug, Clone)]
pub struct OperatorPause {
    paused: watch::Sender<PausedPartitions>,
}

impl Default for OperatorPause {
    fn default() -> Self {
        Self {
            paused: watch::Sender::new(PausedPartitions::default()),
        }
    }
}

impl OperatorPause {
    /// Pauses `partition`, or the whole pipeline when `None`.
    pub fn pause(&self, partition: Option<i32>) -> PausedPartitions {
        self.paused.send_modify(|paused| match partition {
            Some(partition) => {
                paused.partitions.insert(partition);
            }
            None => paused.all = true,
        });
        self.paused()
    }

    /// Resumes `partition`, or everything when `None`.
    pub fn resume(&self, partition: Option<i32>) -> Result<PausedPartitions, PauseError> {
        let mut refused = None;
        self.paused.send_if_modified(|paused| match partition {
            Some(_) if paused.all => {
                refused = Some(PauseError::WholePipelinePaused);
                false
            }
            Some(partition) => paused.partitions.remove(&partition),
            None => {
                let changed = paused.any();
                *paused = PausedPartitions::default();
                changed
            }
        });
        match refused {
            Some(error) => Err(error),
            None => Ok(self.paused()),
        }
    }

    /// What is paused now.
    pub fn paused(&self) -> PausedPartitions {
        self.paused.borrow().clone()
    }

    /// A receiver that sees every change, for a partition worker.
    pub fn subscribe(&self) -> watch::Receiver<PausedPartitions> {
        self.paused.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_partitions_or_the_whole_pipeline() {
        let pause = OperatorPause::default();
        assert!(!pause.paused().any());
        pause.pause(Some(2));
        assert!(pause.paused().covers(2) && !pause.paused().covers(1));
        pause.pause(None);
        assert!(pause.paused().covers(1));
        assert_eq!(pause.resume(Some(2)), Err(PauseError::WholePipelinePaused));
        assert_eq!(pause.resume(None), Ok(PausedPartitions::default()));
        pause.pause(Some(0));
        pause.pause(Some(1));
        let left = pause.resume(Some(0)).expect("resumed");
        assert!(!left.covers(0) && left.covers(1));
    }

    #[tokio::test]
    async fn workers_see_each_change() {
        let pause = OperatorPause::default();
        let mut watcher = pause.subscribe();
        pause.pause(Some(3));
        watcher.changed().await.expect("changed");
        assert!(watcher.borrow_and_update().covers(3));
        pause.resume(Some(3)).expect("resumed");
        watcher.changed().await.expect("changed");
        assert!(!watcher.borrow_and_update().any());
    }
}
