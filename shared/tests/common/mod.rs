//! Drives the pure domain the way the command handler does, without I/O.
#![allow(dead_code)] // each test file uses a part

use cloud_ai_shared::domain::access::AccessPolicy;
use cloud_ai_shared::domain::archive_job::ArchiveJob;
use cloud_ai_shared::domain::backend::BackendStatus;
use cloud_ai_shared::domain::command::parse;
use cloud_ai_shared::domain::decide::{
    Context, Decision, HISTORY_LENGTH, Input, decide, needs_recent_messages,
};
use cloud_ai_shared::domain::deletion::RowsDeletion;
use cloud_ai_shared::domain::events::{ChatMessage, Event, RecordedEvent, Role};
use cloud_ai_shared::domain::projection::{
    Row, RowChange, Rows, apply_changes, changes_for, coalesce, message_prefix, session_messages,
    settle_archive,
};
use cloud_ai_shared::domain::state::UserState;
use cloud_ai_shared::domain::usage::TokenUsage;

pub const USER: i64 = 4242;
pub const CHAT: i64 = 99;

/// A user's stream and live rows, advanced one update at a time.
#[derive(Default)]
pub struct Bot {
    pub state: UserState,
    pub events: Vec<RecordedEvent>,
    pub rows: Rows,
    pub next_update: i64,
    /// Whether the updates come from a group chat (the stream is the group's).
    pub in_group: bool,
    /// Whether the sender is one of the bot's admins.
    pub is_admin: bool,
    /// The configured access lists (for `/users` and `/deny`).
    pub access: AccessPolicy,
    /// The model backend as the handler would have read it (`None`: no backend configured).
    pub backend: Option<BackendStatus>,
    /// The bot's `SYSTEM_PROMPT`.
    pub system_prompt: Option<String>,
    /// Every user's tokens today, as the handler reads them for an admin's `/usage`.
    pub tokens_by_user: Vec<(i64, u64)>,
    /// Whether the model sees photos.
    pub sees_photos: bool,
    /// Whether voice messages are transcribed.
    pub hears_voice: bool,
}

impl Bot {
    pub fn send(&mut self, text: &str) -> Decision {
        self.input(Input::Command(parse(text, Some("cloudaibot"))))
    }

    pub fn input(&mut self, input: Input) -> Decision {
        self.next_update += 1;
        let recent = if needs_recent_messages(&input) {
            self.recent_messages()
        } else {
            Vec::new()
        };
        let ctx = Context {
            user_id: USER,
            sender_id: USER,
            in_group: self.in_group,
            chat_id: CHAT,
            update_id: self.next_update,
            first_name: "Ada",
            date: 1_700_000_000 + self.next_update,
            now: 1_700_000_000 + self.next_update,
            default_model: "llama3",
            recent_messages: &recent,
            answering: self.backend.is_some(),
            backend: self.backend.as_ref(),
            access: &self.access,
            is_admin: self.is_admin,
            system_prompt: self.system_prompt.as_deref(),
            tokens_by_user: &self.tokens_by_user,
            sees_photos: self.sees_photos,
            hears_voice: self.hears_voice,
        };
        let decision = decide(&self.state, &input, &ctx);
        self.commit(&decision);
        decision
    }

    /// The active session's last messages, oldest first, as the handler reads them.
    fn recent_messages(&self) -> Vec<ChatMessage> {
        let Some(active) = self.state.active else {
            return Vec::new();
        };
        let mut recent = session_messages(&self.rows, active);
        let skip = recent.len().saturating_sub(HISTORY_LENGTH);
        recent.drain(..skip);
        recent
    }

    /// The model's answer in the active session, recorded as the handler does once it is shown.
    pub fn answered(&mut self, text: &str) {
        self.answer_recorded(text, None);
    }

    /// An answer the backend reported `usage` for, recorded as the handler does.
    pub fn answered_using(&mut self, text: &str, usage: TokenUsage) {
        self.answer_recorded(text, Some(usage));
    }

    fn answer_recorded(&mut self, text: &str, usage: Option<TokenUsage>) {
        let session_id = self.state.active.expect("an active session");
        self.commit(&Decision {
            events: vec![Event::MessagePosted {
                session_id,
                role: Role::Assistant,
                content: text.into(),
                ts: 1_700_000_000 + self.next_update,
                usage,
                image: None,
            }],
            replies: Vec::new(),
        });
    }

    /// A new answer taking the place of message `seq` of the active session (`/retry`).
    pub fn answer_replaced(&mut self, seq: u64, text: &str) {
        let session_id = self.state.active.expect("an active session");
        self.commit(&Decision {
            events: vec![Event::AnswerReplaced {
                session_id,
                seq,
                content: text.into(),
                ts: 1_700_000_000 + self.next_update,
                usage: None,
            }],
            replies: Vec::new(),
        });
    }

    /// Records a decision as the store would: one batch of coalesced changes, then the archiver.
    pub fn commit(&mut self, decision: &Decision) {
        let mut changes: Vec<RowChange> = Vec::new();
        let mut jobs = Vec::new();
        let mut deletions = Vec::new();
        for event in &decision.events {
            changes.extend(changes_for(USER, &self.state, event));
            jobs.extend(ArchiveJob::for_event(USER, &self.state, event));
            deletions.extend(RowsDeletion::for_event(&self.state, event));
            self.state.apply(event);
            self.state.version += 1;
            self.events.push(RecordedEvent {
                version: self.state.version,
                update_id: self.next_update,
                event: event.clone(),
            });
        }
        apply_changes(&mut self.rows, &coalesce(changes));
        for job in jobs {
            let Some(Row::Session(row)) = self.rows.get(&job.session_sort_key()).cloned() else {
                panic!("the archived session's row is missing before the archiver ran");
            };
            assert_eq!(
                row.s3_path, job.s3_key,
                "an archived row carries its s3_path"
            );
            apply_changes(&mut self.rows, &settle_archive(&row));
        }
        for deletion in deletions {
            let prefix = message_prefix(deletion.session_id);
            self.rows.retain(|key, _| !key.starts_with(&prefix));
        }
    }
}

pub fn text(decision: &Decision) -> String {
    use cloud_ai_shared::domain::decide::Reply;
    decision
        .replies
        .iter()
        .map(|r| match r {
            Reply::Text { text } => text.clone(),
            Reply::ArchiveFile { file_name, .. } => format!("<file {file_name}>"),
            Reply::Answer { model, .. } => format!("<answer by {model}>"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}
