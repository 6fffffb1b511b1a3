//! The work a `SessionDeleted` event leaves: delete the session's message rows (its session row
//! goes in the event's own append). Run by whoever finishes the update, in any pipeline.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::events::Event;
use super::keys::session_sort_key;
use super::state::UserState;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowsDeletion {
    pub session_id: Uuid,
    pub session_sort_key: String,
}

impl RowsDeletion {
    /// The deletion an event calls for, given the state before it (only `SessionDeleted` does).
    pub fn for_event(before: &UserState, event: &Event) -> Option<RowsDeletion> {
        let Event::SessionDeleted { session_id } = event else {
            return None;
        };
        let session = before.session(*session_id)?;
        Some(RowsDeletion {
            session_id: *session_id,
            session_sort_key: session_sort_key(&session.model_name, *session_id),
        })
    }
}
