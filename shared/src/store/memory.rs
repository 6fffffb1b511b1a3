//! The event store in memory, for tests (feature `testing`): the same contract as DynamoDB and
//! SQLite (checked by the store contract test), with [`Faults`] injected into any call.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use uuid::Uuid;

use super::{
    Allowance, Append, EventStore, FINISH_LEASE_SECONDS, OffsetStore, OriginalSessions, Quotas,
    Receipt, ReceiptWrite, Receipts, SessionRows, StoreError, largest_first,
};
use crate::domain::adoption::OriginalSession;
use crate::domain::events::{ChatMessage, RecordedEvent};
use crate::domain::limits::Window;
use crate::domain::projection::{Rows, apply_changes, message_prefix, session_messages};
use crate::domain::state::UserState;
use crate::testing::faults::Faults;

#[derive(Debug, Default)]
struct Tables {
    states: HashMap<i64, UserState>,
    events: HashMap<i64, Vec<RecordedEvent>>,
    rows: HashMap<i64, Rows>,
    /// (user, update) → (receipt, lease held until).
    receipts: HashMap<(i64, i64), (Receipt, i64)>,
    /// (user, counter, window start) → (used, told).
    counters: HashMap<(i64, String, i64), (u64, bool)>,
    /// user → quiet until.
    refusals: HashMap<i64, i64>,
    offset: Option<i64>,
    originals: BTreeMap<i64, Vec<OriginalSession>>,
}

pub struct MemoryStore {
    tables: Mutex<Tables>,
    faults: Arc<Faults>,
}

impl MemoryStore {
    pub fn new(faults: Arc<Faults>) -> MemoryStore {
        MemoryStore {
            tables: Mutex::new(Tables::default()),
            faults,
        }
    }

    /// Leaves the original bot's live sessions for `user_id` (what its table would hold).
    pub fn add_original_sessions(&self, user_id: i64, sessions: Vec<OriginalSession>) {
        self.tables
            .lock()
            .unwrap()
            .originals
            .insert(user_id, sessions);
    }

    /// A user's folded state, read outside the fault plan (for a test's own checks).
    pub fn state_of(&self, user_id: i64) -> UserState {
        let tables = self.tables.lock().unwrap();
        tables.states.get(&user_id).cloned().unwrap_or_default()
    }

    /// A user's stream, read outside the fault plan.
    pub fn stream(&self, user_id: i64) -> Vec<RecordedEvent> {
        let tables = self.tables.lock().unwrap();
        tables.events.get(&user_id).cloned().unwrap_or_default()
    }

    /// A user's live rows, read outside the fault plan.
    pub fn rows_of(&self, user_id: i64) -> Rows {
        let tables = self.tables.lock().unwrap();
        tables.rows.get(&user_id).cloned().unwrap_or_default()
    }

    /// Appends outside the fault plan (a test's given events).
    pub fn write(&self, append: Append) -> Result<(), StoreError> {
        self.tables.lock().unwrap().append(&append, now())
    }

    /// Lets every lease run out, as time passing would: a redelivery may then finish the update.
    pub fn expire_leases(&self) {
        for (_, lease) in self.tables.lock().unwrap().receipts.values_mut() {
            *lease = 0;
        }
    }

    fn enter(&self, name: &'static str) -> Result<crate::testing::faults::Step, StoreError> {
        let step = self.faults.enter(name);
        step.before()?;
        Ok(step)
    }
}

fn corrupt_gone(update_id: i64) -> StoreError {
    StoreError::Corrupt(format!("the receipt of update {update_id} is gone"))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Tables {
    /// All of an append or none: every check before the first write.
    fn append(&mut self, append: &Append, now: i64) -> Result<(), StoreError> {
        let user_id = append.user_id;
        match &append.receipt {
            ReceiptWrite::Create(receipt)
                if self.receipts.contains_key(&(user_id, receipt.update_id)) =>
            {
                return Err(StoreError::AlreadyRecorded {
                    update_id: receipt.update_id,
                });
            }
            ReceiptWrite::Update(receipt)
                if !self.receipts.contains_key(&(user_id, receipt.update_id)) =>
            {
                return Err(corrupt_gone(receipt.update_id));
            }
            _ => {}
        }
        let writes_stream = !(append.events.is_empty() && append.changes.is_empty());
        let version = self.states.get(&user_id).map_or(0, |s| s.version);
        if writes_stream && version != append.expected_version {
            return Err(StoreError::VersionConflict {
                user_id,
                expected: append.expected_version,
            });
        }
        if let Some(receipt) = append.receipt.receipt() {
            self.receipts.insert(
                (user_id, receipt.update_id),
                (receipt.clone(), now + FINISH_LEASE_SECONDS),
            );
        }
        if writes_stream {
            self.events
                .entry(user_id)
                .or_default()
                .extend(append.events.iter().cloned());
            self.states.insert(user_id, append.state.clone());
            apply_changes(self.rows.entry(user_id).or_default(), &append.changes);
        }
        Ok(())
    }

    fn messages(&self, user_id: i64, session_id: Uuid) -> Vec<ChatMessage> {
        self.rows
            .get(&user_id)
            .map(|rows| session_messages(rows, session_id))
            .unwrap_or_default()
    }
}

#[async_trait]
impl EventStore for MemoryStore {
    async fn load(&self, user_id: i64) -> Result<UserState, StoreError> {
        let step = self.enter("load")?;
        let state = self.tables.lock().unwrap().states.get(&user_id).cloned();
        step.after(Ok(state.unwrap_or_default()))
    }

    async fn append(&self, append: Append) -> Result<(), StoreError> {
        let step = self.enter("append")?;
        let result = self.tables.lock().unwrap().append(&append, now());
        step.after(result)
    }

    async fn events(&self, user_id: i64) -> Result<Vec<RecordedEvent>, StoreError> {
        let step = self.enter("events")?;
        let events = self.tables.lock().unwrap().events.get(&user_id).cloned();
        step.after(Ok(events.unwrap_or_default()))
    }
}

#[async_trait]
impl Receipts for MemoryStore {
    async fn receipt(&self, user_id: i64, update_id: i64) -> Result<Option<Receipt>, StoreError> {
        let step = self.enter("receipt")?;
        let tables = self.tables.lock().unwrap();
        let receipt = tables
            .receipts
            .get(&(user_id, update_id))
            .map(|(r, _)| r.clone());
        step.after(Ok(receipt))
    }

    async fn save_progress(&self, user_id: i64, receipt: &Receipt) -> Result<(), StoreError> {
        let step = self.enter("save_progress")?;
        let mut tables = self.tables.lock().unwrap();
        let result = match tables.receipts.get_mut(&(user_id, receipt.update_id)) {
            Some((kept, _)) => {
                *kept = receipt.clone();
                Ok(())
            }
            None => Err(corrupt_gone(receipt.update_id)),
        };
        step.after(result)
    }

    async fn claim(
        &self,
        user_id: i64,
        update_id: i64,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError> {
        let step = self.enter("claim")?;
        let mut tables = self.tables.lock().unwrap();
        let claimed = match tables.receipts.get_mut(&(user_id, update_id)) {
            Some((_, lease)) if *lease < now => {
                *lease = until;
                true
            }
            _ => false,
        };
        step.after(Ok(claimed))
    }

    async fn release(&self, user_id: i64, update_id: i64) -> Result<(), StoreError> {
        let step = self.enter("release")?;
        if let Some((_, lease)) = self
            .tables
            .lock()
            .unwrap()
            .receipts
            .get_mut(&(user_id, update_id))
        {
            *lease = 0;
        }
        step.after(Ok(()))
    }
}

#[async_trait]
impl SessionRows for MemoryStore {
    async fn recent_messages(
        &self,
        user_id: i64,
        session_id: Uuid,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let step = self.enter("recent_messages")?;
        let mut messages = self.tables.lock().unwrap().messages(user_id, session_id);
        let skip = messages.len().saturating_sub(limit);
        messages.drain(..skip);
        step.after(Ok(messages))
    }

    async fn all_messages(
        &self,
        user_id: i64,
        session_id: Uuid,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let step = self.enter("all_messages")?;
        let messages = self.tables.lock().unwrap().messages(user_id, session_id);
        step.after(Ok(messages))
    }

    async fn delete_session(
        &self,
        user_id: i64,
        session_sort_key: &str,
        session_id: Uuid,
    ) -> Result<(), StoreError> {
        let step = self.enter("delete_session")?;
        let prefix = message_prefix(session_id);
        if let Some(rows) = self.tables.lock().unwrap().rows.get_mut(&user_id) {
            rows.retain(|key, _| !key.starts_with(&prefix));
            rows.remove(session_sort_key);
        }
        step.after(Ok(()))
    }

    async fn live_rows(&self, user_id: i64) -> Result<Rows, StoreError> {
        let step = self.enter("live_rows")?;
        let rows = self.tables.lock().unwrap().rows.get(&user_id).cloned();
        step.after(Ok(rows.unwrap_or_default()))
    }
}

#[async_trait]
impl Quotas for MemoryStore {
    async fn counts_in_window(
        &self,
        counter: &str,
        window: Window,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        let step = self.enter("counts_in_window")?;
        let tables = self.tables.lock().unwrap();
        let counts = tables
            .counters
            .iter()
            .filter(|((_, c, start), _)| c == counter && *start == window.start)
            .map(|((user, _, _), (used, _))| (*user, *used))
            .collect();
        step.after(Ok(largest_first(counts)))
    }

    async fn take(
        &self,
        user_id: i64,
        counter: &str,
        window: Window,
        amount: u64,
        limit: u64,
    ) -> Result<Allowance, StoreError> {
        let step = self.enter("take")?;
        let mut tables = self.tables.lock().unwrap();
        let key = (user_id, counter.to_string(), window.start);
        if amount > 0 {
            // Windows before this one are of no use any more.
            tables.counters.retain(|(u, c, start), _| {
                !(*u == user_id && c == counter && *start < window.start)
            });
        }
        let allowance = match tables.counters.get_mut(&key) {
            Some((used, told)) if *used >= limit => {
                let first = !*told;
                *told = true;
                Allowance::Refused { first }
            }
            _ if amount == 0 => Allowance::Granted,
            Some((used, _)) => {
                *used = used.saturating_add(amount);
                Allowance::Granted
            }
            None => {
                tables.counters.insert(key, (amount, false));
                Allowance::Granted
            }
        };
        step.after(Ok(allowance))
    }

    async fn note_refusal(
        &self,
        user_id: i64,
        now: i64,
        quiet_seconds: i64,
    ) -> Result<bool, StoreError> {
        let step = self.enter("note_refusal")?;
        let mut tables = self.tables.lock().unwrap();
        let tell = tables
            .refusals
            .get(&user_id)
            .is_none_or(|until| *until <= now);
        if tell {
            tables.refusals.insert(user_id, now + quiet_seconds);
        }
        step.after(Ok(tell))
    }
}

#[async_trait]
impl OffsetStore for MemoryStore {
    async fn last_update_id(&self) -> Result<Option<i64>, StoreError> {
        let step = self.enter("last_update_id")?;
        let offset = self.tables.lock().unwrap().offset;
        step.after(Ok(offset))
    }

    async fn advance(&self, update_id: i64) -> Result<(), StoreError> {
        let step = self.enter("advance")?;
        let mut tables = self.tables.lock().unwrap();
        tables.offset = Some(tables.offset.map_or(update_id, |o| o.max(update_id)));
        step.after(Ok(()))
    }

    async fn restart(&self, update_id: i64) -> Result<(), StoreError> {
        let step = self.enter("restart")?;
        self.tables.lock().unwrap().offset = Some(update_id);
        step.after(Ok(()))
    }
}

#[async_trait]
impl OriginalSessions for MemoryStore {
    async fn original_sessions(&self, user_id: i64) -> Result<Vec<OriginalSession>, StoreError> {
        let step = self.enter("original_sessions")?;
        let sessions = self.tables.lock().unwrap().originals.get(&user_id).cloned();
        step.after(Ok(sessions.unwrap_or_default()))
    }

    async fn users_with_original_sessions(&self) -> Result<Vec<i64>, StoreError> {
        let step = self.enter("users_with_original_sessions")?;
        let users = self
            .tables
            .lock()
            .unwrap()
            .originals
            .iter()
            .filter(|(_, sessions)| !sessions.is_empty())
            .map(|(user, _)| *user)
            .collect();
        step.after(Ok(users))
    }
}
