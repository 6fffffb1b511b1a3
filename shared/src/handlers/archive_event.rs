//! The archiver role fed by EventBridge: on an `Archived` event it finishes the update that
//! archived the session (writes the archive, deletes the live rows, then confirms to the user).
//! Re-delivery after a crash at any step finishes the job; the confirmation is sent once.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;

use super::command::CommandHandler;
use super::error::HandleError;
use super::outcome::Outcome;
use crate::bus::{BusEvent, SOURCE};
use crate::domain::events::Event;

/// `handler` runs the archive job itself, whatever its pipeline ([`CommandHandler::finish_update`]).
pub async fn handle_archive_event(
    handler: &CommandHandler,
    event: &EventBridgeEvent<serde_json::Value>,
) -> Result<Outcome, HandleError> {
    if event.source != SOURCE {
        return Err(HandleError::MalformedEvent(format!(
            "unexpected source {}",
            event.source
        )));
    }
    let detail: BusEvent = serde_json::from_value(event.detail.clone())
        .map_err(|e| HandleError::MalformedEvent(e.to_string()))?;
    handle_bus_event(handler, &detail).await
}

/// The archiver role on one published event, however it arrived (EventBridge, or the embedded
/// bus): an `Archived` event finishes the update that archived the session.
pub async fn handle_bus_event(
    handler: &CommandHandler,
    detail: &BusEvent,
) -> Result<Outcome, HandleError> {
    match &detail.event {
        Event::Archived { .. } => {
            handler
                .finish_update(detail.user_id, detail.update_id)
                .await
        }
        other => {
            tracing::info!(event = other.name(), "not an archive event; ignored");
            Ok(Outcome::Ignored)
        }
    }
}
