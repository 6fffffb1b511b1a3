//! The update queue in memory, for tests (feature `testing`): deduplicated by update id within
//! the run, as SQS FIFO deduplicates within five minutes, with injected [`Faults`].

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{MAX_BATCH, QueueError, QueuedUpdate, SendOutcome, UpdateQueue};
use crate::testing::faults::Faults;

#[derive(Default)]
struct Queued {
    updates: Vec<QueuedUpdate>,
    seen: HashSet<i64>,
}

pub struct MemoryQueue {
    queued: Mutex<Queued>,
    faults: Arc<Faults>,
}

impl MemoryQueue {
    pub fn new(faults: Arc<Faults>) -> MemoryQueue {
        MemoryQueue {
            queued: Mutex::new(Queued::default()),
            faults,
        }
    }

    /// What was queued, once each, in order.
    pub fn queued(&self) -> Vec<QueuedUpdate> {
        self.queued.lock().unwrap().updates.clone()
    }
}

#[async_trait]
impl UpdateQueue for MemoryQueue {
    async fn send(&self, updates: &[QueuedUpdate]) -> Result<SendOutcome, QueueError> {
        let step = self.faults.enter("send updates");
        step.before()?;
        assert!(updates.len() <= MAX_BATCH, "a batch over the queue's limit");
        let mut queued = self.queued.lock().unwrap();
        let mut outcome = SendOutcome::default();
        for update in updates {
            // A duplicate is accepted and dropped, as SQS FIFO does.
            if queued.seen.insert(update.update_id) {
                queued.updates.push(update.clone());
            }
            outcome.accepted.push(update.update_id);
        }
        step.after(Ok(outcome))
    }
}
