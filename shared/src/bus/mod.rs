//! The event bus port: every recorded event is published once it is in the store, for other roles
//! (the archiver) and other consumers.

#[cfg(feature = "aws")]
pub mod eventbridge;
#[cfg(feature = "testing")]
pub mod memory;
#[cfg(feature = "embedded")]
pub mod sqlite;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::events::{Event, RecordedEvent};
use crate::error::BackendError;

/// The EventBridge `source` of every event cloud-ai publishes.
pub const SOURCE: &str = "cloud-ai.command";

/// An event as published: its stream, place and cause, and the event itself (the `detail`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusEvent {
    pub user_id: i64,
    pub version: u64,
    pub update_id: i64,
    pub event: Event,
}

impl BusEvent {
    pub fn new(user_id: i64, recorded: &RecordedEvent) -> BusEvent {
        BusEvent {
            user_id,
            version: recorded.version,
            update_id: recorded.update_id,
            event: recorded.event.clone(),
        }
    }

    /// The `detail-type`: the event's name.
    pub fn detail_type(&self) -> &'static str {
        self.event.name()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("the event bus failed: {0}")]
    Backend(#[from] BackendError),
    #[error("the event bus refused {failed} of {total} events: {first_error}")]
    Refused {
        failed: usize,
        total: usize,
        first_error: String,
    },
}

impl BusError {
    pub fn is_transient(&self) -> bool {
        match self {
            BusError::Backend(error) => error.is_transient(),
            // EventBridge refuses entries for throttling and internal failures alike.
            BusError::Refused { .. } => true,
        }
    }
}

#[async_trait]
pub trait EventBus: Send + Sync {
    /// Publishes all of `events` or fails (a retry may publish some twice: consumers are
    /// idempotent).
    async fn publish(&self, events: &[BusEvent]) -> Result<(), BusError>;
}
