//! The event store port: per-user streams with optimistic concurrency, the folded state, the
//! live projection rows, and per-update receipts that make handling idempotent.

#[cfg(feature = "aws")]
pub mod dynamodb;
#[cfg(feature = "testing")]
pub mod memory;
#[cfg(feature = "embedded")]
pub mod sqlite;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::adoption::OriginalSession;
use crate::domain::archive_job::ArchiveJob;
use crate::domain::decide::Reply;
use crate::domain::deletion::RowsDeletion;
use crate::domain::events::{ChatMessage, RecordedEvent};
use crate::domain::limits::Window;
use crate::domain::projection::{RowChange, Rows};
use crate::domain::record::Recorded;
use crate::domain::restore::RestoreJob;
use crate::domain::state::UserState;
use crate::error::BackendError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "another writer appended to the stream of user {user_id} first (expected version {expected})"
    )]
    VersionConflict { user_id: i64, expected: u64 },
    #[error("update {update_id} was already recorded")]
    AlreadyRecorded { update_id: i64 },
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("the event store failed: {0}")]
    Backend(#[from] BackendError),
}

impl StoreError {
    /// Whether the same call may succeed later. Unreadable stored data does not mend itself.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Corrupt(_) => false,
            StoreError::Backend(error) => error.is_transient(),
            StoreError::VersionConflict { .. } | StoreError::AlreadyRecorded { .. } => true,
        }
    }
}

/// The record that an update was handled: what it called for and how far that got. Written in
/// the same transaction as the update's events, so a redelivered update finds it and finishes the
/// job instead of deciding again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub update_id: i64,
    pub chat_id: i64,
    /// The message the replies answer (in groups), so they show as replies to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<i64>,
    /// Who sent the update (in a group, the member; 0 in receipts written before this was kept).
    #[serde(default)]
    pub asked_by: i64,
    pub replies: Vec<Reply>,
    pub archive_jobs: Vec<ArchiveJob>,
    /// The update's events not yet published on the event bus (all of them, until they are).
    #[serde(default)]
    pub unpublished: Vec<RecordedEvent>,
    /// How many of `replies` Telegram has accepted.
    pub replies_sent: usize,
    pub archive_jobs_done: bool,
    /// Message rows of deleted sessions still to delete (emptied once they are).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deletions: Vec<RowsDeletion>,
    /// Restored sessions whose messages are still to append (emptied once they are).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restores: Vec<RestoreJob>,
    /// The Telegram messages showing the answer being written (an `Answer` reply), so that a
    /// retry after a crash edits them instead of answering twice.
    #[serde(default)]
    pub answer_message_ids: Vec<i64>,
}

impl Receipt {
    pub fn is_complete(&self) -> bool {
        self.unpublished.is_empty()
            && self.archive_jobs_done
            && self.deletions.is_empty()
            && self.restores.is_empty()
            && self.replies_sent >= self.replies.len()
    }
}

/// How long the handler that records (or claims) a receipt has to finish it before a redelivery
/// may take over. Longer than a command Lambda's timeout.
pub const FINISH_LEASE_SECONDS: i64 = 120;
/// How long a receipt is kept (DynamoDB: through the table's TTL attribute), long past any
/// redelivery.
pub const RECEIPT_TTL_SECONDS: i64 = 30 * 24 * 3600;

/// One atomic append: events at `expected_version + 1 ..`, the new folded state, the projection
/// changes and the receipt. All of it is written, or none.
#[derive(Debug, Clone)]
pub struct Append {
    pub user_id: i64,
    pub expected_version: u64,
    pub events: Vec<RecordedEvent>,
    pub state: UserState,
    pub changes: Vec<RowChange>,
    pub receipt: ReceiptWrite,
}

impl Append {
    /// The append of `recorded` (folded from the stream at `expected_version`) with `receipt`.
    pub fn of(
        user_id: i64,
        expected_version: u64,
        recorded: Recorded,
        receipt: ReceiptWrite,
    ) -> Append {
        Append {
            user_id,
            expected_version,
            events: recorded.events,
            state: recorded.next,
            changes: recorded.changes,
            receipt,
        }
    }
}

/// What an append does with an update's receipt.
#[derive(Debug, Clone)]
pub enum ReceiptWrite {
    /// Creates it: an update's decision (`AlreadyRecorded` if it exists).
    Create(Receipt),
    /// Replaces the one the update already has: its answer, recorded once shown.
    Update(Receipt),
    /// None: events that no update decided (the original bot's data, adopted).
    None,
}

impl ReceiptWrite {
    pub fn receipt(&self) -> Option<&Receipt> {
        match self {
            ReceiptWrite::Create(receipt) | ReceiptWrite::Update(receipt) => Some(receipt),
            ReceiptWrite::None => None,
        }
    }
}

/// The event streams: per-user, versioned, appended to atomically with their state, rows and
/// receipt.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// The user's folded state (version 0 and empty for a new user).
    async fn load(&self, user_id: i64) -> Result<UserState, StoreError>;
    /// Appends atomically. Fails with `VersionConflict` when the stream moved on, and with
    /// `AlreadyRecorded` when a new receipt exists. With no events and no changes, only the
    /// receipt is written. A receipt written here is leased to the appender for
    /// [`FINISH_LEASE_SECONDS`].
    async fn append(&self, append: Append) -> Result<(), StoreError>;
    /// The whole stream, in order.
    async fn events(&self, user_id: i64) -> Result<Vec<RecordedEvent>, StoreError>;
}

/// The updates' receipts: how far each got, and who holds the right to finish it.
#[async_trait]
pub trait Receipts: Send + Sync {
    async fn receipt(&self, user_id: i64, update_id: i64) -> Result<Option<Receipt>, StoreError>;
    /// Records how far a receipt's replies and jobs got (keeping its lease).
    async fn save_progress(&self, user_id: i64, receipt: &Receipt) -> Result<(), StoreError>;
    /// Takes the right to finish a receipt until `until` (Unix seconds), if nobody holds it at
    /// `now`.
    async fn claim(
        &self,
        user_id: i64,
        update_id: i64,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError>;
    /// Gives the right to finish back early (after a failure), so a redelivery may take it.
    async fn release(&self, user_id: i64, update_id: i64) -> Result<(), StoreError>;
}

/// Reads and deletes of the live projection rows.
#[async_trait]
pub trait SessionRows: Send + Sync {
    /// The last `limit` messages of a session, oldest first.
    async fn recent_messages(
        &self,
        user_id: i64,
        session_id: Uuid,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError>;
    /// The newest messages of a session that fit in `max_chars` characters (the newest always,
    /// however long), at most `limit`, oldest first: what an answer's context needs. Stores
    /// whose reads cost by the row read only that far.
    async fn context_messages(
        &self,
        user_id: i64,
        session_id: Uuid,
        limit: usize,
        max_chars: usize,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let recent = self.recent_messages(user_id, session_id, limit).await?;
        Ok(crate::domain::backend::trim_to_budget(&recent, max_chars))
    }
    /// Every message of a session, oldest first.
    async fn all_messages(
        &self,
        user_id: i64,
        session_id: Uuid,
    ) -> Result<Vec<ChatMessage>, StoreError>;
    /// Deletes a session's message rows, then its session row (missing rows are fine), so an
    /// interrupted delete leaves the session row to show that work remains.
    async fn delete_session(
        &self,
        user_id: i64,
        session_sort_key: &str,
        session_id: Uuid,
    ) -> Result<(), StoreError>;
    /// All live session and message rows of a user.
    async fn live_rows(&self, user_id: i64) -> Result<Rows, StoreError>;
}

/// The original Python bot's live session items (`MODEL#<model>#SESSION#<id>` with the whole
/// conversation inside), read to adopt them (see `domain::adoption`).
#[async_trait]
pub trait OriginalSessions: Send + Sync {
    /// The user's sessions still as the original left them, in sort-key order (the numbers it
    /// showed).
    async fn original_sessions(&self, user_id: i64) -> Result<Vec<OriginalSession>, StoreError>;
    /// Every user who has such sessions, in id order.
    async fn users_with_original_sessions(&self) -> Result<Vec<i64>, StoreError>;
}

/// What a counter said to one more use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowance {
    Granted,
    /// Over the limit; `first` the first time in the window (the one time to tell the user).
    Refused {
        first: bool,
    },
}

/// Per-user throttling records: when a stranger was last refused, and how much a user used in a
/// window. They hold only ids, counts and times (no text, no stream) and expire by themselves.
#[async_trait]
pub trait Quotas: Send + Sync {
    /// Adds `amount` to `user_id`'s counter `counter` for the window starting at `window.start`,
    /// if the count so far is below `limit`; else refuses (and remembers that it did).
    async fn take(
        &self,
        user_id: i64,
        counter: &str,
        window: Window,
        amount: u64,
        limit: u64,
    ) -> Result<Allowance, StoreError>;
    /// Every user's count of `counter` in the window starting at `window.start`, largest first
    /// (for admins' `/usage`; DynamoDB scans the table for it).
    async fn counts_in_window(
        &self,
        counter: &str,
        window: Window,
    ) -> Result<Vec<(i64, u64)>, StoreError>;
    /// Notes a refusal to `user_id` at `now`, unless one was noted within `quiet_seconds`:
    /// true when the caller should send the refusal (at most once per quiet period).
    async fn note_refusal(
        &self,
        user_id: i64,
        now: i64,
        quiet_seconds: i64,
    ) -> Result<bool, StoreError>;
}

/// Counts sorted as [`Quotas::counts_in_window`] gives them: largest first, then by user id.
pub(crate) fn largest_first(mut counts: Vec<(i64, u64)>) -> Vec<(i64, u64)> {
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts
}

/// Where the poller is in Telegram's update stream (the original's row `pk 0 / sk last_update_id`).
#[async_trait]
pub trait OffsetStore: Send + Sync {
    /// The last update id queued, if any.
    async fn last_update_id(&self) -> Result<Option<i64>, StoreError>;
    /// Records that every update up to `update_id` is queued. Never moves backwards.
    async fn advance(&self, update_id: i64) -> Result<(), StoreError>;
    /// Sets the offset to `update_id` even when that is lower: Telegram's ids restarted.
    async fn restart(&self, update_id: i64) -> Result<(), StoreError>;
}
