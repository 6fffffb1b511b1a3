//! The event store on the embedded SQLite database, with the DynamoDB adapter's semantics: a
//! user's append is one transaction guarded by the stream version, receipts are written with
//! their events and leased to their writer, and the live rows mirror `chatbot-sessions`.
//!
//! Tables: `user_state` (folded state, the concurrency guard), `events`, `receipts` (expiring
//! after [`RECEIPT_TTL_SECONDS`]), `sessions` and `messages` (the live rows, keyed by the same
//! sort keys as the DynamoDB items) and `poller_offset`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::{
    Allowance, Append, EventStore, FINISH_LEASE_SECONDS, OffsetStore, OriginalSessions, Quotas,
    RECEIPT_TTL_SECONDS, Receipt, ReceiptWrite, Receipts, SessionRows, StoreError,
};
use crate::domain::adoption::OriginalSession;
use crate::domain::events::{ChatMessage, RecordedEvent, Role};
use crate::domain::limits::Window;
use crate::domain::projection::{MessageRow, Row, RowChange, Rows, SessionRow};
use crate::domain::state::UserState;
use crate::error::BackendError;
use crate::sqlite::Database;

#[derive(Clone, Debug)]
pub struct SqliteStore {
    db: Database,
    /// Leases this process gave back but could not write down (a full disk): they are free, so
    /// the next try need not wait for them to expire. Only this process ever holds them.
    unreleased: Arc<Mutex<HashSet<(i64, i64)>>>,
}

fn backend(error: rusqlite::Error) -> StoreError {
    BackendError::sqlite("SQLite", error).into()
}

/// A failed commit of a group the work was in (see [`Database`]).
impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> StoreError {
        backend(error)
    }
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("domain types serialise to JSON")
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(format!("unreadable {what}: {e}")))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl SqliteStore {
    pub fn new(db: Database) -> SqliteStore {
        SqliteStore {
            db,
            unreleased: Arc::default(),
        }
    }

    /// Startup of the only process on the database: gives back every lease a crashed run held
    /// (so its unfinished updates are finished at once, not after the lease expires) and drops
    /// expired receipts.
    pub async fn recover(&self) -> Result<RecoveryReport, StoreError> {
        self.db
            .call(|conn| {
                let released = conn.execute(
                    "UPDATE receipts SET lease_until = 0 WHERE lease_until > 0",
                    [],
                )?;
                let expired =
                    conn.execute("DELETE FROM receipts WHERE expires_at < ?1", [now()])?;
                Ok(RecoveryReport { released, expired })
            })
            .await
            .map_err(backend)
    }
}

impl SqliteStore {
    fn unreleased_lock(&self) -> std::sync::MutexGuard<'_, HashSet<(i64, i64)>> {
        self.unreleased
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The last `limit` messages of a session (all with `None`), oldest first.
    async fn newest_messages(
        &self,
        user_id: i64,
        session_id: Uuid,
        limit: Option<usize>,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        // SQLite reads a negative LIMIT as no limit.
        let limit = limit.map_or(-1, |l| l.min(i64::MAX as usize) as i64);
        let rows: Vec<MessageColumns> = self
            .db
            .call(move |conn| {
                let mut statement = conn.prepare_cached(
                    "SELECT role, content, ts, image FROM messages WHERE user_id = ?1 AND session_id = ?2
                     ORDER BY seq DESC LIMIT ?3",
                )?;
                statement
                    .query_map(params![user_id, session_id.to_string(), limit], message_row)?
                    .collect()
            })
            .await
            .map_err(backend)?;
        let mut messages = rows
            .into_iter()
            .map(chat_message)
            .collect::<Result<Vec<_>, _>>()?;
        messages.reverse();
        Ok(messages)
    }
}

/// What [`SqliteStore::recover`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryReport {
    pub released: usize,
    pub expired: usize,
}

fn write_receipt(
    tx: &Connection,
    user_id: i64,
    write: &ReceiptWrite,
    now: i64,
) -> Result<(), StoreError> {
    let lease_until = now + FINISH_LEASE_SECONDS;
    match write {
        ReceiptWrite::Create(receipt) => {
            let inserted = tx
                .execute(
                    "INSERT OR IGNORE INTO receipts (user_id, update_id, receipt, lease_until, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        user_id,
                        receipt.update_id,
                        to_json(receipt),
                        lease_until,
                        now + RECEIPT_TTL_SECONDS
                    ],
                )
                .map_err(backend)?;
            if inserted == 0 {
                return Err(StoreError::AlreadyRecorded {
                    update_id: receipt.update_id,
                });
            }
        }
        ReceiptWrite::Update(receipt) => {
            let updated = tx
                .execute(
                    "UPDATE receipts SET receipt = ?3, lease_until = ?4 WHERE user_id = ?1 AND update_id = ?2",
                    params![user_id, receipt.update_id, to_json(receipt), lease_until],
                )
                .map_err(backend)?;
            if updated == 0 {
                return Err(corrupt(format!(
                    "the receipt of update {} is gone",
                    receipt.update_id
                )));
            }
        }
        ReceiptWrite::None => {}
    }
    Ok(())
}

fn check_version(tx: &Connection, user_id: i64, expected: u64) -> Result<(), StoreError> {
    let current: Option<u64> = tx
        .query_row(
            "SELECT version FROM user_state WHERE user_id = ?1",
            [user_id],
            |row| row.get(0),
        )
        .optional()
        .map_err(backend)?;
    if current.unwrap_or(0) != expected {
        return Err(StoreError::VersionConflict { user_id, expected });
    }
    Ok(())
}

fn apply_change(tx: &Connection, user_id: i64, change: &RowChange) -> rusqlite::Result<()> {
    match change {
        RowChange::Put(Row::Session(row)) => tx.execute(
            "INSERT OR REPLACE INTO sessions (user_id, sk, chat_id, model_name, session_id, is_active,
                 last_message_ts, s3_path, message_count, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                row.user_id,
                row.sort_key(),
                row.chat_id,
                row.model_name,
                row.session_id.to_string(),
                row.is_active,
                row.last_message_ts,
                row.s3_path,
                row.message_count,
                row.created_at
            ],
        )?,
        RowChange::Put(Row::Message(row)) => tx.execute(
            "INSERT OR REPLACE INTO messages (user_id, sk, session_id, seq, role, content, ts, image)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                row.user_id,
                row.sort_key(),
                row.session_id.to_string(),
                row.seq,
                row.role.as_str(),
                row.content,
                row.ts,
                row.image
                    .as_ref()
                    .map(|image| serde_json::to_string(image).expect("an image ref is JSON"))
            ],
        )?,
        RowChange::Delete(sk) => {
            tx.execute(
                "DELETE FROM sessions WHERE user_id = ?1 AND sk = ?2",
                params![user_id, sk],
            )? + tx.execute(
                "DELETE FROM messages WHERE user_id = ?1 AND sk = ?2",
                params![user_id, sk],
            )?
        }
    };
    Ok(())
}

fn append_in(tx: &Connection, append: &Append, now: i64) -> Result<(), StoreError> {
    // The receipt is checked first, as the DynamoDB adapter reads its cancellation reasons.
    write_receipt(tx, append.user_id, &append.receipt, now)?;
    if append.events.is_empty() && append.changes.is_empty() {
        return Ok(());
    }
    check_version(tx, append.user_id, append.expected_version)?;
    let recorded_at = crate::domain::time::rfc3339(now);
    for event in &append.events {
        tx.execute(
            "INSERT INTO events (user_id, version, update_id, event_type, event, recorded_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                append.user_id,
                event.version,
                event.update_id,
                event.event.name(),
                to_json(&event.event),
                recorded_at
            ],
        )
        .map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::ConstraintViolation) => StoreError::VersionConflict {
                user_id: append.user_id,
                expected: append.expected_version,
            },
            _ => backend(e),
        })?;
    }
    tx.execute(
        "INSERT OR REPLACE INTO user_state (user_id, version, state) VALUES (?1, ?2, ?3)",
        params![append.user_id, append.state.version, to_json(&append.state)],
    )
    .map_err(backend)?;
    for change in &append.changes {
        apply_change(tx, append.user_id, change).map_err(backend)?;
    }
    Ok(())
}

/// A message's columns: role, content, ts and the photo's reference as JSON.
type MessageColumns = (String, String, i64, Option<String>);

fn message_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<MessageColumns> {
    Ok((
        row.get("role")?,
        row.get("content")?,
        row.get("ts")?,
        row.get("image")?,
    ))
}

fn chat_message((role, content, ts, image): MessageColumns) -> Result<ChatMessage, StoreError> {
    Ok(ChatMessage {
        role: Role::parse(&role).ok_or_else(|| corrupt(format!("bad role {role:?}")))?,
        content,
        ts,
        image: image
            .map(|json| serde_json::from_str(&json))
            .transpose()
            .map_err(|e| corrupt(format!("unreadable image reference ({e})")))?,
    })
}

fn parse_uuid(text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|_| corrupt(format!("bad session id {text:?}")))
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn load(&self, user_id: i64) -> Result<UserState, StoreError> {
        let state: Option<String> = self
            .db
            .call(move |conn| {
                conn.query_row(
                    "SELECT state FROM user_state WHERE user_id = ?1",
                    [user_id],
                    |row| row.get(0),
                )
                .optional()
            })
            .await
            .map_err(backend)?;
        match state {
            Some(text) => from_json(&text, "state"),
            None => Ok(UserState::default()),
        }
    }

    async fn append(&self, append: Append) -> Result<(), StoreError> {
        self.db
            .call(move |conn| {
                let tx = conn.savepoint().map_err(backend)?;
                append_in(&tx, &append, now())?;
                tx.commit().map_err(backend)
            })
            .await
    }

    async fn events(&self, user_id: i64) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows: Vec<(u64, i64, String)> = self
            .db
            .call(move |conn| {
                let mut statement = conn.prepare_cached(
                    "SELECT version, update_id, event FROM events WHERE user_id = ?1 ORDER BY version",
                )?;
                statement
                    .query_map([user_id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                    .collect()
            })
            .await
            .map_err(backend)?;
        rows.into_iter()
            .map(|(version, update_id, event)| {
                Ok(RecordedEvent {
                    version,
                    update_id,
                    event: from_json(&event, "event")?,
                })
            })
            .collect()
    }
}

#[async_trait]
impl Receipts for SqliteStore {
    async fn receipt(&self, user_id: i64, update_id: i64) -> Result<Option<Receipt>, StoreError> {
        let text: Option<String> = self
            .db
            .call(move |conn| {
                conn.query_row(
                    "SELECT receipt FROM receipts WHERE user_id = ?1 AND update_id = ?2",
                    [user_id, update_id],
                    |row| row.get(0),
                )
                .optional()
            })
            .await
            .map_err(backend)?;
        text.map(|t| from_json(&t, "receipt")).transpose()
    }

    async fn save_progress(&self, user_id: i64, receipt: &Receipt) -> Result<(), StoreError> {
        let update_id = receipt.update_id;
        let text = to_json(receipt);
        let updated = self
            .db
            .call(move |conn| {
                conn.execute(
                    "UPDATE receipts SET receipt = ?3 WHERE user_id = ?1 AND update_id = ?2",
                    params![user_id, update_id, text],
                )
            })
            .await
            .map_err(backend)?;
        if updated == 0 {
            return Err(corrupt(format!(
                "the receipt of update {update_id} is gone"
            )));
        }
        Ok(())
    }

    async fn claim(
        &self,
        user_id: i64,
        update_id: i64,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError> {
        let key = (user_id, update_id);
        // A lease given back in memory only is free whatever the table says.
        let free_before = if self.unreleased_lock().contains(&key) {
            i64::MAX
        } else {
            now
        };
        let claimed = self
            .db
            .call(move |conn| {
                conn.execute(
                    "UPDATE receipts SET lease_until = ?4
                     WHERE user_id = ?1 AND update_id = ?2 AND lease_until < ?3",
                    params![user_id, update_id, free_before, until],
                )
            })
            .await
            .map_err(backend)?;
        if claimed == 1 {
            self.unreleased_lock().remove(&key);
        }
        Ok(claimed == 1)
    }

    async fn release(&self, user_id: i64, update_id: i64) -> Result<(), StoreError> {
        let written = self
            .db
            .call(move |conn| {
                conn.execute(
                    "UPDATE receipts SET lease_until = 0 WHERE user_id = ?1 AND update_id = ?2",
                    [user_id, update_id],
                )
            })
            .await;
        match written {
            Ok(_) => {
                self.unreleased_lock().remove(&(user_id, update_id));
                Ok(())
            }
            Err(error) => {
                self.unreleased_lock().insert((user_id, update_id));
                Err(backend(error))
            }
        }
    }
}

#[async_trait]
impl SessionRows for SqliteStore {
    async fn recent_messages(
        &self,
        user_id: i64,
        session_id: Uuid,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        self.newest_messages(user_id, session_id, Some(limit)).await
    }

    async fn all_messages(
        &self,
        user_id: i64,
        session_id: Uuid,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        self.newest_messages(user_id, session_id, None).await
    }

    async fn delete_session(
        &self,
        user_id: i64,
        session_sort_key: &str,
        session_id: Uuid,
    ) -> Result<(), StoreError> {
        let sk = session_sort_key.to_string();
        self.db
            .call(move |conn| {
                let tx = conn.savepoint()?;
                tx.execute(
                    "DELETE FROM messages WHERE user_id = ?1 AND session_id = ?2",
                    params![user_id, session_id.to_string()],
                )?;
                tx.execute(
                    "DELETE FROM sessions WHERE user_id = ?1 AND sk = ?2",
                    params![user_id, sk],
                )?;
                tx.commit()
            })
            .await
            .map_err(backend)
    }

    async fn live_rows(&self, user_id: i64) -> Result<Rows, StoreError> {
        type SessionColumns = (String, i64, String, String, bool, i64, String, u64, i64);
        let (sessions, messages): (Vec<SessionColumns>, Vec<(String, u64, MessageColumns)>) = self
            .db
            .call(move |conn| {
                let mut statement = conn.prepare_cached(
                    "SELECT sk, chat_id, model_name, session_id, is_active, last_message_ts,
                                s3_path, message_count, created_at
                         FROM sessions WHERE user_id = ?1",
                )?;
                let sessions = statement
                    .query_map([user_id], |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            r.get(6)?,
                            r.get(7)?,
                            r.get(8)?,
                        ))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let mut statement = conn.prepare_cached(
                    "SELECT session_id, seq, role, content, ts, image FROM messages
                         WHERE user_id = ?1",
                )?;
                let messages = statement
                    .query_map([user_id], |r| {
                        Ok((r.get("session_id")?, r.get("seq")?, message_row(r)?))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok((sessions, messages))
            })
            .await
            .map_err(backend)?;
        let mut rows = Rows::new();
        for (
            sk,
            chat_id,
            model_name,
            session_id,
            is_active,
            last_message_ts,
            s3_path,
            count,
            created_at,
        ) in sessions
        {
            let row = Row::Session(SessionRow {
                user_id,
                chat_id,
                model_name,
                session_id: parse_uuid(&session_id)?,
                is_active,
                last_message_ts,
                s3_path,
                message_count: count,
                created_at,
            });
            if row.sort_key() != sk {
                return Err(corrupt(format!("session row {sk} does not match its key")));
            }
            rows.insert(sk, row);
        }
        for (session_id, seq, columns) in messages {
            let row = Row::Message(MessageRow::of(
                user_id,
                parse_uuid(&session_id)?,
                seq,
                chat_message(columns)?,
            ));
            rows.insert(row.sort_key(), row);
        }
        Ok(rows)
    }
}

#[async_trait]
impl OffsetStore for SqliteStore {
    async fn last_update_id(&self) -> Result<Option<i64>, StoreError> {
        self.db
            .call(|conn| {
                conn.query_row(
                    "SELECT last_update_id FROM poller_offset WHERE id = 0",
                    [],
                    |row| row.get(0),
                )
                .optional()
            })
            .await
            .map_err(backend)
    }

    async fn advance(&self, update_id: i64) -> Result<(), StoreError> {
        self.db
            .call(move |conn| {
                conn.execute(
                    "INSERT INTO poller_offset (id, last_update_id) VALUES (0, ?1)
                     ON CONFLICT (id) DO UPDATE SET last_update_id = excluded.last_update_id
                     WHERE excluded.last_update_id > poller_offset.last_update_id",
                    [update_id],
                )
            })
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn restart(&self, update_id: i64) -> Result<(), StoreError> {
        self.db
            .call(move |conn| {
                conn.execute(
                    "INSERT INTO poller_offset (id, last_update_id) VALUES (0, ?1)
                     ON CONFLICT (id) DO UPDATE SET last_update_id = excluded.last_update_id",
                    [update_id],
                )
            })
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl Quotas for SqliteStore {
    async fn counts_in_window(
        &self,
        counter: &str,
        window: Window,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        let counter = counter.to_string();
        let counts: Vec<(i64, i64)> = self
            .db
            .call(move |conn| {
                let mut statement = conn.prepare_cached(
                    "SELECT user_id, used FROM usage_counters
                     WHERE counter = ?1 AND window_start = ?2
                     ORDER BY used DESC, user_id",
                )?;
                statement
                    .query_map(params![counter, window.start], |row| {
                        Ok((row.get(0)?, row.get(1)?))
                    })?
                    .collect()
            })
            .await
            .map_err(backend)?;
        Ok(counts
            .into_iter()
            .map(|(user, used)| (user, used.max(0) as u64))
            .collect())
    }

    async fn take(
        &self,
        user_id: i64,
        counter: &str,
        window: Window,
        amount: u64,
        limit: u64,
    ) -> Result<Allowance, StoreError> {
        let counter = counter.to_string();
        // SQLite integers are signed: a limit past i64::MAX means none.
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let amount = i64::try_from(amount).unwrap_or(i64::MAX);
        self.db
            .call(move |conn| {
                let tx = conn.savepoint()?;
                if amount > 0 {
                    // Windows before this one are of no use any more.
                    tx.execute(
                        "DELETE FROM usage_counters WHERE user_id = ?1 AND counter = ?2 AND window_start < ?3",
                        params![user_id, counter, window.start],
                    )?;
                }
                let row: Option<(i64, bool)> = tx
                    .query_row(
                        "SELECT used, told FROM usage_counters
                         WHERE user_id = ?1 AND counter = ?2 AND window_start = ?3",
                        params![user_id, counter, window.start],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .optional()?;
                let allowance = match row {
                    Some((used, told)) if used >= limit => {
                        if !told {
                            tx.execute(
                                "UPDATE usage_counters SET told = 1
                                 WHERE user_id = ?1 AND counter = ?2 AND window_start = ?3",
                                params![user_id, counter, window.start],
                            )?;
                        }
                        Allowance::Refused { first: !told }
                    }
                    // Only a look (a check before the model is asked): nothing to write.
                    _ if amount == 0 => Allowance::Granted,
                    _ => {
                        tx.execute(
                            "INSERT INTO usage_counters (user_id, counter, window_start, used)
                             VALUES (?1, ?2, ?3, ?4)
                             ON CONFLICT (user_id, counter, window_start)
                             DO UPDATE SET used = used + excluded.used",
                            params![user_id, counter, window.start, amount],
                        )?;
                        Allowance::Granted
                    }
                };
                tx.commit()?;
                Ok(allowance)
            })
            .await
            .map_err(backend)
    }

    async fn note_refusal(
        &self,
        user_id: i64,
        now: i64,
        quiet_seconds: i64,
    ) -> Result<bool, StoreError> {
        let changed = self
            .db
            .call(move |conn| {
                conn.execute(
                    "INSERT INTO refusals (user_id, quiet_until) VALUES (?1, ?2)
                     ON CONFLICT (user_id) DO UPDATE SET quiet_until = excluded.quiet_until
                     WHERE refusals.quiet_until <= ?3",
                    params![user_id, now + quiet_seconds, now],
                )
            })
            .await
            .map_err(backend)?;
        Ok(changed == 1)
    }
}

/// The original bot kept its sessions only in DynamoDB: this database never holds one. (Its
/// archives, copied into the data folder, are adopted from the archive store.)
#[async_trait]
impl OriginalSessions for SqliteStore {
    async fn original_sessions(&self, _user_id: i64) -> Result<Vec<OriginalSession>, StoreError> {
        Ok(Vec::new())
    }

    async fn users_with_original_sessions(&self) -> Result<Vec<i64>, StoreError> {
        Ok(Vec::new())
    }
}
