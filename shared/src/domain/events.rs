//! The facts recorded in a user's event stream.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::access::Who;
use super::persona::Persona;
use super::usage::TokenUsage;

/// Who wrote a message of a conversation (the original's `role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    System,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::System => "system",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        match value {
            "user" => Some(Role::User),
            "assistant" => Some(Role::Assistant),
            "system" => Some(Role::System),
            _ => None,
        }
    }
}

/// One message of a conversation, as the original stores it (`{role, content, ts}`), plus the
/// photo a user's message came with (absent from the original's messages, and ignored by it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
    pub ts: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageRef>,
}

impl ChatMessage {
    /// A message without a photo.
    pub fn new(role: Role, content: impl Into<String>, ts: i64) -> ChatMessage {
        ChatMessage {
            role,
            content: content.into(),
            ts,
            image: None,
        }
    }
}

/// A photo as Telegram keeps it: its `file_id` (the bot can fetch it again with `getFile`) and
/// size, never its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    pub file_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
    pub width: u32,
    pub height: u32,
}

/// One thing that happened to a user's sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    SessionCreated {
        session_id: Uuid,
        model_name: String,
        chat_id: i64,
        created_at: i64,
    },
    Switched {
        session_id: Uuid,
    },
    /// Archive `s3_key` opened again as a live session (`/restore`); its messages follow as
    /// `MessagePosted` events (the archive stays).
    SessionRestored {
        session_id: Uuid,
        s3_key: String,
        model_name: String,
        chat_id: i64,
        created_at: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
    },
    MessagePosted {
        session_id: Uuid,
        role: Role,
        content: String,
        ts: i64,
        /// For an answer: the tokens the backend reported it took.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<TokenUsage>,
        /// The photo the user's message came with (the message is its caption).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image: Option<ImageRef>,
    },
    /// The session's title: made from its first message, or given with `/rename`.
    SessionTitled {
        session_id: Uuid,
        title: String,
    },
    /// The session's system prompt (`/persona`).
    PersonaSet {
        session_id: Uuid,
        persona: Persona,
    },
    /// A new answer (`/retry`) takes the place of message `seq` of the session, an earlier
    /// answer; that answer's text stays in the stream, in its `MessagePosted`.
    AnswerReplaced {
        session_id: Uuid,
        seq: u64,
        content: String,
        ts: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<TokenUsage>,
    },
    /// The session is removed from the live table (`/delete`, confirmed); nothing is archived.
    SessionDeleted {
        session_id: Uuid,
    },
    /// The session leaves the live table for `archives/{user_id}/{session_id}.json`.
    Archived {
        session_id: Uuid,
        s3_key: String,
        /// RFC 3339, as the archive's `archived_at`.
        archived_at: String,
    },
    /// An archive file sent by the user was validated and stored under a fresh session id.
    ArchiveImported {
        session_id: Uuid,
        model_name: String,
        message_count: u64,
        last_message_ts: i64,
        s3_key: String,
        imported_at: String,
        /// The file's own title, or one made from its first message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
    },
    /// The original bot's data of this user was found and is being recorded in this stream (the
    /// counts are what was found). Until [`Event::AdoptionCompleted`], adoption resumes.
    AdoptionStarted {
        sessions: u64,
        messages: u64,
        archives: u64,
    },
    /// An archive the original bot left under the user's prefix, adopted with its key.
    ArchiveAdopted {
        session_id: Uuid,
        model_name: String,
        message_count: u64,
        last_message_ts: i64,
        s3_key: String,
        archived_at: String,
        imported: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
    },
    /// Everything the original bot left of this user is in the stream and in our rows.
    AdoptionCompleted,
    /// An admin let a user in (`/allow`); only in the bot-level stream.
    AccessGranted {
        who: Who,
        by: i64,
    },
    /// An admin shut a user out (`/deny`); only in the bot-level stream.
    AccessRevoked {
        who: Who,
        by: i64,
    },
}

impl Event {
    /// The name used as the event's type in the store and as EventBridge `detail-type`.
    pub fn name(&self) -> &'static str {
        match self {
            Event::SessionCreated { .. } => "SessionCreated",
            Event::Switched { .. } => "Switched",
            Event::SessionRestored { .. } => "SessionRestored",
            Event::MessagePosted { .. } => "MessagePosted",
            Event::SessionTitled { .. } => "SessionTitled",
            Event::PersonaSet { .. } => "PersonaSet",
            Event::AnswerReplaced { .. } => "AnswerReplaced",
            Event::SessionDeleted { .. } => "SessionDeleted",
            Event::Archived { .. } => "Archived",
            Event::ArchiveImported { .. } => "ArchiveImported",
            Event::AdoptionStarted { .. } => "AdoptionStarted",
            Event::ArchiveAdopted { .. } => "ArchiveAdopted",
            Event::AdoptionCompleted => "AdoptionCompleted",
            Event::AccessGranted { .. } => "AccessGranted",
            Event::AccessRevoked { .. } => "AccessRevoked",
        }
    }
}

/// An event as stored: its place in the stream and the Telegram update that caused it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedEvent {
    pub version: u64,
    pub update_id: i64,
    pub event: Event,
}
