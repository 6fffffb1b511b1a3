//! Restoring an archive as a live session (`/restore <n>`): the decision opens the session
//! (`SessionRestored`); its messages follow as ordinary `MessagePosted` events, appended in
//! bounded steps by whoever finishes the update, so the stream stays complete on its own and a
//! crash between steps goes on from the last message recorded.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::adoption::EVENTS_PER_APPEND;
use super::archive_doc::ValidImport;
use super::events::{ChatMessage, Event, Role};
use super::persona::Persona;
use super::state::UserState;

/// The most message bytes one append carries (a DynamoDB item, the receipt's copy of the events
/// included, holds 400 KB).
pub const BYTES_PER_APPEND: usize = 150_000;
/// The longest message a restored session may hold (one event is one item).
pub const MAX_RESTORED_MESSAGE_BYTES: usize = 100_000;

/// The work a `SessionRestored` event leaves: its messages, from the archive at `s3_key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreJob {
    pub session_id: Uuid,
    pub s3_key: String,
}

impl RestoreJob {
    pub fn for_event(event: &Event) -> Option<RestoreJob> {
        match event {
            Event::SessionRestored {
                session_id, s3_key, ..
            } => Some(RestoreJob {
                session_id: *session_id,
                s3_key: s3_key.clone(),
            }),
            _ => None,
        }
    }
}

/// An archive as a session takes it back: a leading `system` message is its persona.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestorableArchive {
    pub messages: Vec<ChatMessage>,
    pub persona: Option<Persona>,
}

impl RestorableArchive {
    /// Why the archive cannot be restored, if it cannot.
    pub fn from_archive(archive: ValidImport) -> Result<RestorableArchive, String> {
        let mut messages = archive.conversation;
        let persona = match messages.first() {
            Some(first) if first.role == Role::System => {
                Some(Persona::from_archive(&messages.remove(0).content))
            }
            _ => None,
        };
        if let Some(index) = messages
            .iter()
            .position(|m| m.content.len() > MAX_RESTORED_MESSAGE_BYTES)
        {
            return Err(format!(
                "message {} is longer than the {} KB a live message may be",
                index + 1,
                MAX_RESTORED_MESSAGE_BYTES / 1000
            ));
        }
        Ok(RestorableArchive { messages, persona })
    }
}

/// The next append's events restoring `session_id` from `archive` (its persona first, then the
/// messages not recorded yet); empty once the session holds them all, or is gone.
pub fn next_restore_events(
    state: &UserState,
    session_id: Uuid,
    archive: &RestorableArchive,
) -> Vec<Event> {
    let Some(session) = state.session(session_id) else {
        return Vec::new();
    };
    let mut events = Vec::new();
    if session.message_count == 0
        && session.persona.is_default()
        && let Some(persona) = &archive.persona
    {
        events.push(Event::PersonaSet {
            session_id,
            persona: persona.clone(),
        });
    }
    let mut bytes = 0;
    for message in archive.messages.iter().skip(session.message_count as usize) {
        if events.len() >= EVENTS_PER_APPEND
            || (bytes + message.content.len() > BYTES_PER_APPEND && !events.is_empty())
        {
            break;
        }
        bytes += message.content.len();
        events.push(Event::MessagePosted {
            session_id,
            role: message.role,
            content: message.content.clone(),
            ts: message.ts,
            usage: None,
            image: message.image.clone(),
        });
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::archive_doc::ImportedFrom;

    fn valid(conversation: Vec<ChatMessage>) -> ValidImport {
        ValidImport {
            model_name: "llama3".into(),
            conversation,
            title: None,
            imported_from: ImportedFrom {
                user_id: None,
                session_id: None,
                original_sk: None,
                archived_at: None,
                imported_at: "2026-12-04T00:00:00Z".into(),
            },
        }
    }

    fn message(role: Role, content: &str) -> ChatMessage {
        ChatMessage::new(role, content, 1)
    }

    fn restored_session(state: &mut UserState, session_id: Uuid) {
        state.apply(&Event::SessionRestored {
            session_id,
            s3_key: "archives/1/x.json".into(),
            model_name: "llama3".into(),
            chat_id: 1,
            created_at: 1,
            title: None,
        });
    }

    #[test]
    fn a_leading_system_message_is_the_persona_and_the_rest_comes_in_bounded_steps() {
        let mut conversation = vec![message(Role::System, "Be brief.")];
        conversation.extend((0..95).map(|i| message(Role::User, &format!("m{i}"))));
        let archive = RestorableArchive::from_archive(valid(conversation)).unwrap();
        assert_eq!(archive.messages.len(), 95);
        let session_id = Uuid::from_u128(9);
        let mut state = UserState::default();
        restored_session(&mut state, session_id);
        let mut steps = Vec::new();
        loop {
            let events = next_restore_events(&state, session_id, &archive);
            if events.is_empty() {
                break;
            }
            steps.push(events.len());
            for event in &events {
                state.apply(event);
            }
        }
        assert_eq!(
            steps,
            [40, 40, 16],
            "40 events an append, the persona first"
        );
        let session = state.session(session_id).unwrap();
        assert_eq!(session.message_count, 95);
        assert_eq!(
            session.persona,
            Persona::Custom {
                prompt: "Be brief.".into(),
                preset: None
            }
        );
    }

    #[test]
    fn large_messages_make_smaller_steps_and_an_oversized_one_is_refused() {
        let big = "x".repeat(60_000);
        let conversation = (0..5).map(|_| message(Role::User, &big)).collect();
        let archive = RestorableArchive::from_archive(valid(conversation)).unwrap();
        let session_id = Uuid::from_u128(9);
        let mut state = UserState::default();
        restored_session(&mut state, session_id);
        assert_eq!(next_restore_events(&state, session_id, &archive).len(), 2);

        let huge = vec![
            message(Role::User, "hi"),
            message(Role::Assistant, &"y".repeat(100_001)),
        ];
        assert_eq!(
            RestorableArchive::from_archive(valid(huge)),
            Err("message 2 is longer than the 100 KB a live message may be".into())
        );
        // A session gone meanwhile (deleted, archived) takes nothing more.
        assert!(next_restore_events(&UserState::default(), session_id, &archive).is_empty());
    }
}
