//! The event bus on an EventBridge custom bus (`PutEvents`, checking `FailedEntryCount`).

use async_trait::async_trait;

use crate::error::BackendError;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use super::{BusError, BusEvent, EventBus, SOURCE};

/// EventBridge's limit on entries in one `PutEvents`.
const MAX_ENTRIES: usize = 10;

#[derive(Clone, Debug)]
pub struct EventBridgeBus {
    client: Client,
    bus_name: String,
}

impl EventBridgeBus {
    pub fn new(client: Client, bus_name: impl Into<String>) -> EventBridgeBus {
        EventBridgeBus {
            client,
            bus_name: bus_name.into(),
        }
    }
}

#[async_trait]
impl EventBus for EventBridgeBus {
    async fn publish(&self, events: &[BusEvent]) -> Result<(), BusError> {
        for chunk in events.chunks(MAX_ENTRIES) {
            let entries: Vec<PutEventsRequestEntry> = chunk
                .iter()
                .map(|event| {
                    PutEventsRequestEntry::builder()
                        .event_bus_name(&self.bus_name)
                        .source(SOURCE)
                        .detail_type(event.detail_type())
                        .detail(serde_json::to_string(event).expect("bus events serialise to JSON"))
                        .build()
                })
                .collect();
            let output = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| BackendError::sdk("PutEvents", e))?;
            let failed = output.failed_entry_count.max(0) as usize;
            if failed > 0 {
                let first_error = output
                    .entries()
                    .iter()
                    .find(|entry| entry.error_code().is_some())
                    .map(|entry| {
                        format!(
                            "{}: {}",
                            entry.error_code().unwrap_or_default(),
                            entry.error_message().unwrap_or_default()
                        )
                    })
                    .unwrap_or_default();
                return Err(BusError::Refused {
                    failed,
                    total: chunk.len(),
                    first_error,
                });
            }
        }
        Ok(())
    }
}
