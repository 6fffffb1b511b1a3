//! The work an `Archived` event leaves for the archiver: write the archive, then drop the rows.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::events::Event;
use super::keys::session_sort_key;
use super::persona::Persona;
use super::state::UserState;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveJob {
    pub user_id: i64,
    pub session_id: Uuid,
    pub model_name: String,
    pub s3_key: String,
    pub archived_at: String,
    pub last_message_ts: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Exported as the conversation's leading `system` message.
    #[serde(default, skip_serializing_if = "Persona::is_default")]
    pub persona: Persona,
}

impl ArchiveJob {
    /// The job an event calls for, given the state before it (only `Archived` calls for one).
    pub fn for_event(user_id: i64, before: &UserState, event: &Event) -> Option<ArchiveJob> {
        let Event::Archived {
            session_id,
            s3_key,
            archived_at,
        } = event
        else {
            return None;
        };
        let session = before.session(*session_id)?;
        Some(ArchiveJob {
            user_id,
            session_id: *session_id,
            model_name: session.model_name.clone(),
            s3_key: s3_key.clone(),
            archived_at: archived_at.clone(),
            last_message_ts: session.last_message_ts,
            title: session.title.clone(),
            persona: session.persona.clone(),
        })
    }

    pub fn session_sort_key(&self) -> String {
        session_sort_key(&self.model_name, self.session_id)
    }
}
