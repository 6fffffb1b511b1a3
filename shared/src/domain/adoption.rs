//! Adopting what the original Python bot left of a user: its session items (the whole
//! conversation inside each, `MODEL#<model>#SESSION#<id>`) and its archives under the user's
//! prefix become events of the user's stream, and the conversations become message rows.
//!
//! The events are a function of what is found and of the stream so far, so an adoption cut short
//! anywhere resumes to the same stream: `AdoptionStarted` marks it unfinished; each session's
//! events come in order (created, made active if it was, its messages); its row replaces the
//! original's item only in the append that writes its last message, so the original's
//! conversation is removed only once every message row exists; then the archives; then
//! `AdoptionCompleted`.

use chrono::DateTime;
use serde_json::Value;
use uuid::Uuid;

use super::archive_doc::is_valid_model_name;
use super::events::{ChatMessage, Event, Role};
use super::projection::{Row, RowChange, SessionRow, coalesce};
use super::record::{Recorded, record};
use super::state::{ArchiveSummary, UserState};
use super::time::rfc3339;
use super::title::{check_title, title_from};

/// The most events in one adoption append. A message writes its event and its row, and one
/// DynamoDB transaction holds at most 100 items (with the state and a session row besides).
pub const EVENTS_PER_APPEND: usize = 40;

/// A live session as the original bot keeps it: one item holding the whole conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalSession {
    /// The item's sort key, `MODEL#<model>#SESSION#<id>`.
    pub sort_key: String,
    pub session_id: Uuid,
    pub model_name: String,
    pub is_active: bool,
    pub last_message_ts: i64,
    pub conversation: Vec<ChatMessage>,
}

impl OriginalSession {
    /// When it began: its first message, else when it was last touched (the original keeps no
    /// creation time).
    pub fn created_at(&self) -> i64 {
        self.conversation
            .first()
            .map_or(self.last_message_ts, |m| m.ts)
    }
}

/// Whether a stream may still adopt: it is empty (the user never met cloud-ai) or an adoption
/// is under way. A user with a stream of their own is never merged with the original's rows.
pub fn may_adopt(state: &UserState) -> bool {
    state.version == 0 || state.adopting
}

/// The events still to append, in appends of at most `per_append` events, given the stream so far,
/// the original's session items still in the table (in sort-key order, the numbering it showed)
/// and the archives under the user's prefix (in key order). Empty when there is nothing to adopt.
pub fn plan(
    user_id: i64,
    state: &UserState,
    originals: &[OriginalSession],
    archives: &[ArchiveSummary],
    per_append: usize,
) -> Vec<Vec<Event>> {
    if !may_adopt(state) {
        return Vec::new();
    }
    let pending_archives: Vec<&ArchiveSummary> = archives
        .iter()
        .filter(|a| !state.archives.iter().any(|known| known.s3_key == a.s3_key))
        .collect();
    let mut events = Vec::new();
    if !state.adopting {
        if originals.is_empty() && pending_archives.is_empty() {
            return Vec::new();
        }
        events.push(Event::AdoptionStarted {
            sessions: originals.len() as u64,
            messages: originals.iter().map(|s| s.conversation.len() as u64).sum(),
            archives: pending_archives.len() as u64,
        });
    }
    let mut has_active = state.active.is_some();
    for original in originals {
        let session = state.session(original.session_id);
        let recorded = session.map(|s| s.message_count as usize);
        // Titled before its messages: once the last one is recorded, the original item is gone.
        let title = session
            .is_none_or(|s| s.title.is_none())
            .then(|| first_user_title(&original.conversation))
            .flatten();
        if recorded.is_some_and(|n| n >= original.conversation.len()) {
            // Finished by another adopter after the items were read: its row is written.
            continue;
        }
        if recorded.is_none() {
            events.push(Event::SessionCreated {
                session_id: original.session_id,
                model_name: original.model_name.clone(),
                // The original only served private chats, where the chat is the user.
                chat_id: user_id,
                created_at: original.created_at(),
            });
        }
        // Also when an append ended between the session's creation and this.
        if original.is_active && !has_active {
            events.push(Event::Switched {
                session_id: original.session_id,
            });
            has_active = true;
        }
        if let Some(title) = title {
            events.push(Event::SessionTitled {
                session_id: original.session_id,
                title,
            });
        }
        events.extend(
            original.conversation[recorded.unwrap_or(0)..]
                .iter()
                .map(|m| Event::MessagePosted {
                    session_id: original.session_id,
                    role: m.role,
                    content: m.content.clone(),
                    ts: m.ts,
                    usage: None,
                    image: None,
                }),
        );
    }
    events.extend(pending_archives.into_iter().map(|a| Event::ArchiveAdopted {
        session_id: a.session_id,
        model_name: a.model_name.clone(),
        message_count: a.message_count,
        last_message_ts: a.last_message_ts,
        s3_key: a.s3_key.clone(),
        archived_at: a.archived_at.clone(),
        imported: a.imported,
        title: a.title.clone(),
    }));
    events.push(Event::AdoptionCompleted);
    events
        .chunks(per_append.max(1))
        .map(<[Event]>::to_vec)
        .collect()
}

/// Records one append of an adoption: like any append, except that a session's row is written
/// only by the append that records its last message, where it replaces the original's item
/// (which until then still holds the conversation).
pub fn record_step(
    user_id: i64,
    state: &UserState,
    events: Vec<Event>,
    originals: &[OriginalSession],
    update_id: i64,
) -> Recorded {
    let mut recorded = record(user_id, state, events, update_id);
    let mut changes: Vec<RowChange> = recorded
        .changes
        .drain(..)
        .filter(|change| !matches!(change, RowChange::Put(Row::Session(_))))
        .collect();
    let next = &recorded.next;
    let complete = |s: &UserState, original: &OriginalSession| {
        s.session(original.session_id)
            .is_some_and(|s| s.message_count as usize >= original.conversation.len())
    };
    for original in originals {
        if complete(state, original) || !complete(next, original) {
            continue;
        }
        let Some(session) = next.session(original.session_id) else {
            continue;
        };
        let row =
            SessionRow::from_summary(user_id, session, next.active == Some(original.session_id));
        if row.sort_key() != original.sort_key {
            changes.push(RowChange::Delete(original.sort_key.clone()));
        }
        changes.push(RowChange::Put(Row::Session(row)));
    }
    recorded.changes = coalesce(changes);
    recorded
}

/// What the list of an archive the original bot wrote shows, read leniently: an archive the
/// user can no longer read is still listed (and exported as it is), with what can be told.
pub fn archive_summary(s3_key: &str, body: &[u8]) -> ArchiveSummary {
    let document: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let field = |name: &str| document.get(name).filter(|v| !v.is_null());
    let conversation = field("conversation").and_then(Value::as_array);
    let imported_at = field("imported_at")
        .or_else(|| field("imported_from").and_then(|f| f.get("imported_at")))
        .and_then(Value::as_str);
    let archived_at = imported_at.or_else(|| field("archived_at").and_then(Value::as_str));
    let last_message_ts = field("last_message_ts")
        .and_then(unix_time)
        .or_else(|| {
            conversation.and_then(|c| {
                c.iter()
                    .filter_map(|m| m.get("ts").and_then(unix_time))
                    .max()
            })
        })
        .unwrap_or(0);
    ArchiveSummary {
        session_id: archive_session_id(s3_key),
        model_name: field("model_name")
            .and_then(Value::as_str)
            .filter(|name| is_valid_model_name(name))
            .unwrap_or("unknown")
            .to_string(),
        s3_key: s3_key.to_string(),
        archived_at: archived_at.map(display_time).unwrap_or_default(),
        message_count: conversation.map_or(0, |c| c.len() as u64),
        last_message_ts,
        imported: imported_at.is_some(),
        title: field("title")
            .and_then(Value::as_str)
            .and_then(|t| check_title(t).ok())
            .or_else(|| {
                conversation?
                    .iter()
                    .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
                    .and_then(|m| m.get("content")?.as_str())
                    .and_then(title_from)
            }),
    }
}

/// A title from a conversation's first message of the user's.
fn first_user_title(conversation: &[ChatMessage]) -> Option<String> {
    conversation
        .iter()
        .find(|m| m.role == Role::User)
        .and_then(|m| title_from(&m.content))
}

/// The session id an archive's key names (`.../{session_id}.json`), or one derived from the key
/// when the name is not a UUID, so that every object keeps one id.
pub fn archive_session_id(s3_key: &str) -> Uuid {
    const NAMESPACE: Uuid = Uuid::from_u128(0x6c0d_a1a1_5e55_4f0a_9b1e_c10d_a1c0_0002);
    let name = s3_key.rsplit('/').next().unwrap_or(s3_key);
    Uuid::parse_str(name.strip_suffix(".json").unwrap_or(name))
        .unwrap_or_else(|_| Uuid::new_v5(&NAMESPACE, s3_key.as_bytes()))
}

/// The user an archive key belongs to: `archives/{user_id}/...`.
pub fn archive_owner(s3_key: &str) -> Option<i64> {
    let mut parts = s3_key.split('/');
    (parts.next() == Some("archives"))
        .then(|| parts.next())
        .flatten()
        .and_then(|id| id.parse().ok())
        .filter(|id| *id > 0)
}

/// A Unix time as the original stores one: a number, or (read back through boto3's `Decimal`
/// and written with `json.dumps(..., default=str)`) a string of one.
fn unix_time(value: &Value) -> Option<i64> {
    let seconds = match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.trunc() as i64)),
        Value::String(text) => text
            .trim()
            .parse::<i64>()
            .ok()
            .or_else(|| text.trim().parse::<f64>().ok().map(|f| f.trunc() as i64)),
        _ => None,
    }?;
    (seconds >= 0).then_some(seconds)
}

/// Python's `datetime.utcnow().isoformat() + 'Z'` (microseconds included) as our replies show
/// times; anything else as it is, cut short.
fn display_time(text: &str) -> String {
    match DateTime::parse_from_rfc3339(text) {
        Ok(time) => rfc3339(time.timestamp()),
        Err(_) => text.chars().take(40).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::events::Role;

    fn original(n: u128, messages: usize, active: bool) -> OriginalSession {
        let session_id = Uuid::from_u128(n);
        OriginalSession {
            sort_key: format!("MODEL#llama3#SESSION#{session_id}"),
            session_id,
            model_name: "llama3".into(),
            is_active: active,
            last_message_ts: 1_700_000_000 + messages as i64,
            conversation: (0..messages)
                .map(|i| {
                    let role = if i % 2 == 0 {
                        Role::User
                    } else {
                        Role::Assistant
                    };
                    ChatMessage::new(role, format!("message {i}"), 1_700_000_000 + i as i64)
                })
                .collect(),
        }
    }

    #[test]
    fn a_user_with_nothing_of_the_original_adopts_nothing() {
        assert!(plan(1, &UserState::default(), &[], &[], 40).is_empty());
    }

    #[test]
    fn a_user_with_a_stream_is_never_merged() {
        let state = UserState {
            version: 3,
            ..UserState::default()
        };
        assert!(plan(1, &state, &[original(1, 2, true)], &[], 40).is_empty());
    }

    #[test]
    fn the_active_session_is_the_first_active_one_as_the_original_chose() {
        let originals = [
            original(1, 0, false),
            original(2, 1, true),
            original(3, 1, true),
        ];
        let events: Vec<Event> = plan(7, &UserState::default(), &originals, &[], 40).concat();
        let switched: Vec<&Event> = events
            .iter()
            .filter(|e| matches!(e, Event::Switched { .. }))
            .collect();
        assert_eq!(
            switched,
            [&Event::Switched {
                session_id: Uuid::from_u128(2)
            }]
        );
    }

    #[test]
    fn appends_stay_within_a_transaction() {
        let originals = [original(1, 95, true)];
        let steps = plan(7, &UserState::default(), &originals, &[], EVENTS_PER_APPEND);
        assert_eq!(steps.len(), 3);
        let mut state = UserState::default();
        for events in steps {
            let recorded = record_step(7, &state, events, &originals, 1);
            // The state item, the events and the rows.
            assert!(1 + recorded.events.len() + recorded.changes.len() <= 100);
            state = recorded.next;
        }
    }

    #[test]
    fn archive_times_read_as_the_original_writes_them() {
        let body = br#"{"user_id": 5, "session_id": "x", "model_name": "llama3",
            "conversation": [{"role": "user", "content": "hi", "ts": "1700000000"}],
            "last_message_ts": "1700000042", "archived_at": "2024-01-15T10:30:00.123456Z",
            "archive_version": "1.0"}"#;
        let key = "archives/5/0b7f6a3e-8d2c-4f1a-9e3b-2c5d7f9a1b3c.json";
        let summary = archive_summary(key, body);
        assert_eq!(summary.last_message_ts, 1_700_000_042);
        assert_eq!(summary.archived_at, "2024-01-15T10:30:00Z");
        assert_eq!(summary.message_count, 1);
        assert!(!summary.imported);
        assert_eq!(
            summary.session_id.to_string(),
            "0b7f6a3e-8d2c-4f1a-9e3b-2c5d7f9a1b3c"
        );
    }

    #[test]
    fn an_unreadable_archive_is_still_listed() {
        let summary = archive_summary("archives/5/notes.json", b"\xff not json");
        assert_eq!(summary.model_name, "unknown");
        assert_eq!(summary.message_count, 0);
        assert_eq!(summary.s3_key, "archives/5/notes.json");
    }

    #[test]
    fn archive_owners_come_from_the_key() {
        assert_eq!(archive_owner("archives/42/a.json"), Some(42));
        assert_eq!(archive_owner("archives/x/a.json"), None);
        assert_eq!(archive_owner("other/42/a.json"), None);
    }

    /// A table in memory: the stream, the live rows, and the original items left.
    struct Table {
        state: UserState,
        events: Vec<Event>,
        rows: crate::domain::projection::Rows,
        originals: Vec<OriginalSession>,
    }

    impl Table {
        fn new(originals: Vec<OriginalSession>) -> Table {
            Table {
                state: UserState::default(),
                events: Vec::new(),
                rows: Default::default(),
                originals,
            }
        }

        /// Runs the adoption's appends, stopping (a crash) after `limit` of them.
        fn adopt(&mut self, archives: &[ArchiveSummary], limit: usize) {
            let steps = plan(7, &self.state, &self.originals, archives, 5);
            for events in steps.into_iter().take(limit) {
                let recorded = record_step(7, &self.state, events, &self.originals, 1);
                crate::domain::projection::apply_changes(&mut self.rows, &recorded.changes);
                // Our row shares the original's key: writing it replaces the original item.
                self.originals
                    .retain(|o| !recorded.changes.iter().any(|c| c.sort_key() == o.sort_key));
                self.events
                    .extend(recorded.events.into_iter().map(|r| r.event));
                self.state = recorded.next;
            }
        }
    }

    #[test]
    fn an_adoption_cut_short_anywhere_resumes_to_the_same_stream_and_rows() {
        let originals = vec![
            original(1, 7, false),
            original(2, 0, false),
            original(3, 12, true),
        ];
        let archive = archive_summary(
            "archives/7/0b7f6a3e-8d2c-4f1a-9e3b-2c5d7f9a1b3c.json",
            br#"{"model_name": "llama3", "conversation": [], "archived_at": "2024-01-15T10:30:00Z"}"#,
        );
        let archives = [archive];
        let mut whole = Table::new(originals.clone());
        whole.adopt(&archives, usize::MAX);
        assert!(
            whole.originals.is_empty(),
            "every original item is replaced"
        );
        assert!(!whole.state.adopting);
        assert_eq!(whole.state.sessions.len(), 3);
        assert_eq!(whole.state.active, Some(Uuid::from_u128(3)));
        assert_eq!(whole.state.archives.len(), 1);
        assert_eq!(
            whole.rows,
            crate::domain::projection::rebuild_rows(7, &whole.events)
        );
        let steps = plan(7, &UserState::default(), &originals, &archives, 5).len();
        for cut in 0..steps {
            let mut table = Table::new(originals.clone());
            table.adopt(&archives, cut);
            // Until a session's last message is recorded, its original item keeps the conversation.
            for left in &table.originals {
                assert!(!table.rows.contains_key(&left.sort_key));
            }
            table.adopt(&archives, usize::MAX);
            assert_eq!(table.events, whole.events, "cut after {cut} appends");
            assert_eq!(table.rows, whole.rows, "cut after {cut} appends");
            assert!(table.originals.is_empty());
        }
        // And once adopted, nothing more.
        assert!(plan(7, &whole.state, &[], &archives, 5).is_empty());
    }
}
