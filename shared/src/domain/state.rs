//! The state a user's event stream folds to: what every decision needs, without message bodies.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::access::AccessChanges;
use super::events::{Event, RecordedEvent};
use super::persona::Persona;
use super::usage::{TokenUsage, UsageTotals};

/// A live session as the decisions see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub session_id: Uuid,
    pub model_name: String,
    pub chat_id: i64,
    pub created_at: i64,
    pub last_message_ts: i64,
    pub message_count: u64,
    /// From the first message, or as renamed; `None` until there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The system prompt its model reads (`/persona`).
    #[serde(default, skip_serializing_if = "Persona::is_default")]
    pub persona: Persona,
    /// The tokens its answers took.
    #[serde(default, skip_serializing_if = "TokenUsage::is_zero")]
    pub usage: TokenUsage,
}

impl SessionSummary {
    /// A session as it opens (created, or restored before its messages follow): no messages.
    fn opened(
        session_id: Uuid,
        model_name: &str,
        chat_id: i64,
        created_at: i64,
        title: Option<String>,
    ) -> SessionSummary {
        SessionSummary {
            session_id,
            model_name: model_name.to_string(),
            chat_id,
            created_at,
            last_message_ts: created_at,
            message_count: 0,
            title,
            persona: Persona::Default,
            usage: TokenUsage::default(),
        }
    }
}

/// An archived (or imported) session, stored in the archive store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveSummary {
    pub session_id: Uuid,
    pub model_name: String,
    pub s3_key: String,
    pub archived_at: String,
    pub message_count: u64,
    pub last_message_ts: i64,
    pub imported: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// Everything known about one user, folded from their events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserState {
    /// The version of the last event folded in (0 for a new user).
    pub version: u64,
    /// Live sessions in creation order: position + 1 is the number users type.
    pub sessions: Vec<SessionSummary>,
    pub active: Option<Uuid>,
    /// Archives in the order they were made: position + 1 is the number users type.
    pub archives: Vec<ArchiveSummary>,
    /// Whether the original bot's data is being adopted into this stream (see `adoption`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adopting: bool,
    /// The tokens the stream's answers took: all time, the latest day and month.
    #[serde(default, skip_serializing_if = "UsageTotals::is_empty")]
    pub usage: UsageTotals,
    /// The admins' access changes: only the bot-level stream has any.
    #[serde(default, skip_serializing_if = "AccessChanges::is_empty")]
    pub access: AccessChanges,
}

impl UserState {
    /// Folds a whole stream.
    pub fn replay<'a>(events: impl IntoIterator<Item = &'a RecordedEvent>) -> UserState {
        let mut state = UserState::default();
        for recorded in events {
            state.apply(&recorded.event);
            state.version = recorded.version;
        }
        state
    }

    /// Folds one event in (the version is the caller's to set).
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::SessionCreated {
                session_id,
                model_name,
                chat_id,
                created_at,
            } => self.sessions.push(SessionSummary::opened(
                *session_id,
                model_name,
                *chat_id,
                *created_at,
                None,
            )),
            Event::SessionRestored {
                session_id,
                model_name,
                chat_id,
                created_at,
                title,
                ..
            } => self.sessions.push(SessionSummary::opened(
                *session_id,
                model_name,
                *chat_id,
                *created_at,
                title.clone(),
            )),
            Event::Switched { session_id } => self.active = Some(*session_id),
            Event::MessagePosted {
                session_id,
                ts,
                usage,
                ..
            } => {
                if let Some(session) = self.session_mut(*session_id) {
                    session.message_count += 1;
                    session.last_message_ts = *ts;
                }
                self.count_usage(*session_id, *usage, *ts);
            }
            Event::SessionTitled { session_id, title } => {
                if let Some(session) = self.session_mut(*session_id) {
                    session.title = Some(title.clone());
                }
            }
            Event::PersonaSet {
                session_id,
                persona,
            } => {
                if let Some(session) = self.session_mut(*session_id) {
                    session.persona = persona.clone();
                }
            }
            Event::AnswerReplaced {
                session_id,
                ts,
                usage,
                ..
            } => {
                if let Some(session) = self.session_mut(*session_id) {
                    session.last_message_ts = *ts;
                }
                self.count_usage(*session_id, *usage, *ts);
            }
            Event::SessionDeleted { session_id } => {
                if let Some(index) = self.session_index(*session_id) {
                    self.sessions.remove(index);
                    if self.active == Some(*session_id) {
                        self.active = None;
                    }
                }
            }
            Event::Archived {
                session_id,
                s3_key,
                archived_at,
            } => {
                if let Some(index) = self.session_index(*session_id) {
                    let session = self.sessions.remove(index);
                    if self.active == Some(*session_id) {
                        self.active = None;
                    }
                    self.archives.push(ArchiveSummary {
                        session_id: session.session_id,
                        model_name: session.model_name,
                        s3_key: s3_key.clone(),
                        archived_at: archived_at.clone(),
                        message_count: session.message_count,
                        last_message_ts: session.last_message_ts,
                        imported: false,
                        title: session.title,
                    });
                }
            }
            Event::ArchiveImported {
                session_id,
                model_name,
                message_count,
                last_message_ts,
                s3_key,
                imported_at,
                title,
            } => self.archives.push(ArchiveSummary {
                session_id: *session_id,
                model_name: model_name.clone(),
                s3_key: s3_key.clone(),
                archived_at: imported_at.clone(),
                message_count: *message_count,
                last_message_ts: *last_message_ts,
                imported: true,
                title: title.clone(),
            }),
            Event::AdoptionStarted { .. } => self.adopting = true,
            Event::ArchiveAdopted {
                session_id,
                model_name,
                message_count,
                last_message_ts,
                s3_key,
                archived_at,
                imported,
                title,
            } => self.archives.push(ArchiveSummary {
                session_id: *session_id,
                model_name: model_name.clone(),
                s3_key: s3_key.clone(),
                archived_at: archived_at.clone(),
                message_count: *message_count,
                last_message_ts: *last_message_ts,
                imported: *imported,
                title: title.clone(),
            }),
            Event::AdoptionCompleted => self.adopting = false,
            Event::AccessGranted { who, .. } => self.access.grant(who),
            Event::AccessRevoked { who, .. } => self.access.revoke(who),
        }
    }

    /// An answer's tokens, in its session's and the stream's totals.
    fn count_usage(&mut self, session_id: Uuid, usage: Option<TokenUsage>, ts: i64) {
        let Some(usage) = usage else {
            return;
        };
        if let Some(session) = self.session_mut(session_id) {
            session.usage.prompt += usage.prompt;
            session.usage.answer += usage.answer;
        }
        self.usage.add(usage, ts);
    }

    pub fn session(&self, session_id: Uuid) -> Option<&SessionSummary> {
        self.sessions.iter().find(|s| s.session_id == session_id)
    }

    pub fn active_session(&self) -> Option<&SessionSummary> {
        self.active.and_then(|id| self.session(id))
    }

    /// The live session users know as `number` (1-based, as `/listsessions` shows).
    pub fn session_numbered(&self, number: usize) -> Option<&SessionSummary> {
        number.checked_sub(1).and_then(|i| self.sessions.get(i))
    }

    /// The archive users know as `number` (1-based, as `/listarchives` shows).
    pub fn archive_numbered(&self, number: usize) -> Option<&ArchiveSummary> {
        number.checked_sub(1).and_then(|i| self.archives.get(i))
    }

    /// The 1-based number shown to users for a live session.
    pub fn session_number(&self, session_id: Uuid) -> Option<usize> {
        self.session_index(session_id).map(|i| i + 1)
    }

    fn session_index(&self, session_id: Uuid) -> Option<usize> {
        self.sessions
            .iter()
            .position(|s| s.session_id == session_id)
    }

    fn session_mut(&mut self, session_id: Uuid) -> Option<&mut SessionSummary> {
        self.sessions
            .iter_mut()
            .find(|s| s.session_id == session_id)
    }
}
