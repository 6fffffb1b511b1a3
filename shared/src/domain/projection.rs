//! The live rows of `chatbot-sessions` as projections of the events: the original's session rows
//! (`MODEL#<model>#SESSION#<id>`) plus one row per message (`MSG#<session_id>#<seq>`), so that no
//! item holds a whole conversation and a new message writes two small items.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::events::{ChatMessage, Event, ImageRef, Role};
use super::keys::session_sort_key;
use super::state::{SessionSummary, UserState};

/// The original's live session row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub user_id: i64,
    pub chat_id: i64,
    pub model_name: String,
    pub session_id: Uuid,
    pub is_active: bool,
    pub last_message_ts: i64,
    /// Set when the session is being archived (the original's meaning); empty while live.
    pub s3_path: String,
    pub message_count: u64,
    pub created_at: i64,
}

/// One message of a live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRow {
    pub user_id: i64,
    pub session_id: Uuid,
    /// 1-based position in the session.
    pub seq: u64,
    pub role: Role,
    pub content: String,
    pub ts: i64,
    /// The photo the message came with.
    pub image: Option<ImageRef>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    Session(SessionRow),
    Message(MessageRow),
}

impl Row {
    pub fn sort_key(&self) -> String {
        match self {
            Row::Session(row) => row.sort_key(),
            Row::Message(row) => row.sort_key(),
        }
    }
}

impl SessionRow {
    pub fn from_summary(user_id: i64, session: &SessionSummary, is_active: bool) -> SessionRow {
        SessionRow {
            user_id,
            chat_id: session.chat_id,
            model_name: session.model_name.clone(),
            session_id: session.session_id,
            is_active,
            last_message_ts: session.last_message_ts,
            s3_path: String::new(),
            message_count: session.message_count,
            created_at: session.created_at,
        }
    }

    pub fn sort_key(&self) -> String {
        session_sort_key(&self.model_name, self.session_id)
    }
}

impl MessageRow {
    pub fn of(user_id: i64, session_id: Uuid, seq: u64, message: ChatMessage) -> MessageRow {
        MessageRow {
            user_id,
            session_id,
            seq,
            role: message.role,
            content: message.content,
            ts: message.ts,
            image: message.image,
        }
    }

    /// The message the row holds.
    pub fn message(&self) -> ChatMessage {
        ChatMessage {
            role: self.role,
            content: self.content.clone(),
            ts: self.ts,
            image: self.image.clone(),
        }
    }

    pub fn sort_key(&self) -> String {
        message_sort_key(self.session_id, self.seq)
    }
}

pub fn message_sort_key(session_id: Uuid, seq: u64) -> String {
    format!("{}{seq:010}", message_prefix(session_id))
}

pub fn message_prefix(session_id: Uuid) -> String {
    format!("MSG#{session_id}#")
}

/// A write to the live rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowChange {
    Put(Row),
    Delete(String),
}

impl RowChange {
    pub fn sort_key(&self) -> String {
        match self {
            RowChange::Put(row) => row.sort_key(),
            RowChange::Delete(sk) => sk.clone(),
        }
    }
}

/// The row writes that keep the projection in step with `event`, given the state before it.
/// An `Archived` session keeps its rows, marked with `s3_path`, until the archiver has written the
/// archive and deleted them (see [`settle_archive`]).
pub fn changes_for(user_id: i64, before: &UserState, event: &Event) -> Vec<RowChange> {
    let row = |session: &SessionSummary, active: bool| {
        RowChange::Put(Row::Session(SessionRow::from_summary(
            user_id, session, active,
        )))
    };
    match event {
        Event::SessionCreated { .. } | Event::SessionRestored { .. } => {
            let mut after = before.clone();
            after.apply(event);
            after
                .sessions
                .last()
                .map(|s| row(s, false))
                .into_iter()
                .collect()
        }
        Event::Switched { session_id } => {
            let mut changes = Vec::new();
            if let Some(previous) = before
                .active_session()
                .filter(|s| s.session_id != *session_id)
            {
                changes.push(row(previous, false));
            }
            if let Some(next) = before.session(*session_id) {
                changes.push(row(next, true));
            }
            changes
        }
        Event::MessagePosted {
            session_id,
            role,
            content,
            ts,
            image,
            ..
        } => {
            let Some(session) = before.session(*session_id) else {
                return Vec::new();
            };
            let mut updated = session.clone();
            updated.message_count += 1;
            updated.last_message_ts = *ts;
            let seq = updated.message_count;
            let message = ChatMessage {
                role: *role,
                content: content.clone(),
                ts: *ts,
                image: image.clone(),
            };
            message_changes(user_id, before, updated, seq, message)
        }
        Event::AnswerReplaced {
            session_id,
            seq,
            content,
            ts,
            ..
        } => {
            let Some(session) = before
                .session(*session_id)
                .filter(|s| s.message_count >= *seq)
            else {
                return Vec::new();
            };
            let mut updated = session.clone();
            updated.last_message_ts = *ts;
            let answer = ChatMessage::new(Role::Assistant, content.clone(), *ts);
            message_changes(user_id, before, updated, *seq, answer)
        }
        // The message rows are the update's deletion to run (see `deletion`).
        Event::SessionDeleted { session_id } => before
            .session(*session_id)
            .map(|s| RowChange::Delete(session_sort_key(&s.model_name, s.session_id)))
            .into_iter()
            .collect(),
        Event::Archived {
            session_id, s3_key, ..
        } => before
            .session(*session_id)
            .map(|session| {
                let mut archived = SessionRow::from_summary(user_id, session, false);
                archived.s3_path = s3_key.clone();
                RowChange::Put(Row::Session(archived))
            })
            .into_iter()
            .collect(),
        // Titles and personas live in the folded state (and the archive), not in the rows.
        Event::SessionTitled { .. }
        | Event::PersonaSet { .. }
        | Event::ArchiveImported { .. }
        | Event::AdoptionStarted { .. }
        | Event::ArchiveAdopted { .. }
        | Event::AdoptionCompleted
        | Event::AccessGranted { .. }
        | Event::AccessRevoked { .. } => Vec::new(),
    }
}

/// A message's row at `seq`, and its session's row as `updated` (the message counted in).
fn message_changes(
    user_id: i64,
    before: &UserState,
    updated: SessionSummary,
    seq: u64,
    message: ChatMessage,
) -> Vec<RowChange> {
    let active = before.active == Some(updated.session_id);
    vec![
        RowChange::Put(Row::Message(MessageRow::of(
            user_id,
            updated.session_id,
            seq,
            message,
        ))),
        RowChange::Put(Row::Session(SessionRow::from_summary(
            user_id, &updated, active,
        ))),
    ]
}

/// The deletes the archiver makes once the archive of `session` is stored.
pub fn settle_archive(session: &SessionRow) -> Vec<RowChange> {
    (1..=session.message_count)
        .map(|seq| RowChange::Delete(message_sort_key(session.session_id, seq)))
        .chain(std::iter::once(RowChange::Delete(session.sort_key())))
        .collect()
}

/// Keeps the last write to each row, as one DynamoDB transaction must (it may touch an item once).
pub fn coalesce(changes: impl IntoIterator<Item = RowChange>) -> Vec<RowChange> {
    let mut last: BTreeMap<String, RowChange> = BTreeMap::new();
    for change in changes {
        last.insert(change.sort_key(), change);
    }
    last.into_values().collect()
}

/// The live rows, keyed by sort key.
pub type Rows = BTreeMap<String, Row>;

/// A session's messages among `rows`, oldest first.
pub fn session_messages(rows: &Rows, session_id: Uuid) -> Vec<ChatMessage> {
    let prefix = message_prefix(session_id);
    rows.range(prefix.clone()..)
        .take_while(|(key, _)| key.starts_with(&prefix))
        .filter_map(|(_, row)| match row {
            Row::Message(m) => Some(m.message()),
            Row::Session(_) => None,
        })
        .collect()
}

pub fn apply_changes(rows: &mut Rows, changes: &[RowChange]) {
    for change in changes {
        match change {
            RowChange::Put(row) => {
                rows.insert(row.sort_key(), row.clone());
            }
            RowChange::Delete(sk) => {
                rows.remove(sk);
            }
        }
    }
}

/// The settled live rows a whole stream describes, derived from the final state and the messages
/// of the sessions still live (independently of [`changes_for`], so each can check the other).
pub fn rebuild_rows<'a>(user_id: i64, events: impl IntoIterator<Item = &'a Event>) -> Rows {
    let mut state = UserState::default();
    let mut messages: BTreeMap<Uuid, Vec<ChatMessage>> = BTreeMap::new();
    for event in events {
        state.apply(event);
        match event {
            Event::MessagePosted {
                session_id,
                role,
                content,
                ts,
                image,
                ..
            } => messages.entry(*session_id).or_default().push(ChatMessage {
                role: *role,
                content: content.clone(),
                ts: *ts,
                image: image.clone(),
            }),
            Event::AnswerReplaced {
                session_id,
                seq,
                content,
                ts,
                ..
            } => {
                let replaced = messages
                    .get_mut(session_id)
                    .and_then(|m| m.get_mut((*seq as usize).checked_sub(1)?));
                if let Some(message) = replaced {
                    *message = ChatMessage::new(Role::Assistant, content.clone(), *ts);
                }
            }
            _ => {}
        }
    }
    let mut rows = Rows::new();
    for session in &state.sessions {
        let row =
            SessionRow::from_summary(user_id, session, state.active == Some(session.session_id));
        rows.insert(row.sort_key(), Row::Session(row));
        for (i, message) in messages
            .remove(&session.session_id)
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let row = MessageRow::of(user_id, session.session_id, i as u64 + 1, message);
            rows.insert(row.sort_key(), Row::Message(row));
        }
    }
    rows
}
