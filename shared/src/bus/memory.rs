//! The event bus in memory, for tests (feature `testing`): keeps what was published, with
//! injected [`Faults`].

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{BusError, BusEvent, EventBus};
use crate::testing::faults::Faults;

pub struct MemoryBus {
    published: Mutex<Vec<BusEvent>>,
    faults: Arc<Faults>,
}

impl MemoryBus {
    pub fn new(faults: Arc<Faults>) -> MemoryBus {
        MemoryBus {
            published: Mutex::new(Vec::new()),
            faults,
        }
    }

    /// Everything published so far, in order (a retried publish shows twice).
    pub fn published(&self) -> Vec<BusEvent> {
        self.published.lock().unwrap().clone()
    }
}

#[async_trait]
impl EventBus for MemoryBus {
    async fn publish(&self, events: &[BusEvent]) -> Result<(), BusError> {
        let step = self.faults.enter("publish");
        step.before()?;
        self.published
            .lock()
            .unwrap()
            .extend(events.iter().cloned());
        step.after(Ok(()))
    }
}
