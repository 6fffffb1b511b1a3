//! Adopting a user from the original bot (see `domain::adoption`): reads what it left (its
//! session items and the archives under the user's prefix), appends the events in
//! version-guarded steps, and starts again from fresh state when another adopter got ahead. The
//! command role runs it before deciding on a user whose stream may still adopt; `cloud-ai adopt`
//! runs it for every user at once.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::archive::{ArchiveError, ArchiveStore};
use crate::domain::adoption::{
    EVENTS_PER_APPEND, OriginalSession, archive_owner, archive_summary, may_adopt, plan,
    record_step,
};
use crate::domain::events::Event;
use crate::domain::keys::archive_prefix;
use crate::domain::state::{ArchiveSummary, UserState};
use crate::store::{Append, EventStore, OriginalSessions, ReceiptWrite, StoreError};

/// How many times adoption starts again after another adopter appended first.
const MAX_TRIES: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    #[error("adopting the original bot's data: {0}")]
    Store(#[from] StoreError),
    #[error("adopting the original bot's archives: {0}")]
    Archive(#[from] ArchiveError),
    #[error(
        "the stream of user {user_id} kept moving while adopting; gave up after {MAX_TRIES} tries"
    )]
    Contention { user_id: i64 },
}

impl AdoptError {
    pub fn is_transient(&self) -> bool {
        match self {
            AdoptError::Store(error) => error.is_transient(),
            AdoptError::Archive(error) => error.is_transient(),
            AdoptError::Contention { .. } => true,
        }
    }
}

/// Sessions, messages and archives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub sessions: u64,
    pub messages: u64,
    pub archives: u64,
}

impl Tally {
    pub fn add(&mut self, other: Tally) {
        self.sessions += other.sessions;
        self.messages += other.messages;
        self.archives += other.archives;
    }

    fn of(events: &[Event]) -> Tally {
        let mut tally = Tally::default();
        for event in events {
            match event {
                Event::SessionCreated { .. } => tally.sessions += 1,
                Event::MessagePosted { .. } => tally.messages += 1,
                Event::ArchiveAdopted { .. } => tally.archives += 1,
                _ => {}
            }
        }
        tally
    }

    pub fn is_empty(&self) -> bool {
        *self == Tally::default()
    }
}

/// What one adoption of a user did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Adoption {
    /// The original's data not yet in the stream when it began.
    pub found: Tally,
    /// What this call recorded (another adopter may have recorded the rest).
    pub written: Tally,
    pub events: u64,
    pub appends: u64,
    /// The user already had a stream of their own: nothing was read or written.
    pub own_stream: bool,
}

#[derive(Clone)]
pub struct Adopter {
    store: Arc<dyn EventStore>,
    originals: Arc<dyn OriginalSessions>,
    archives: Arc<dyn ArchiveStore>,
    per_append: usize,
}

impl Adopter {
    pub fn new(
        store: Arc<dyn EventStore>,
        originals: Arc<dyn OriginalSessions>,
        archives: Arc<dyn ArchiveStore>,
    ) -> Adopter {
        Adopter {
            store,
            originals,
            archives,
            per_append: EVENTS_PER_APPEND,
        }
    }

    /// Appends at most `events` events at a time (fewer than [`EVENTS_PER_APPEND`] only to
    /// show, with small data, that a cut between any two appends resumes).
    pub fn with_events_per_append(mut self, events: usize) -> Adopter {
        self.per_append = events.clamp(1, EVENTS_PER_APPEND);
        self
    }

    /// Adopts what the original bot left of `user_id` (events caused by `update_id`, 0 for the
    /// migration command), unless their stream is their own already.
    pub async fn adopt(&self, user_id: i64, update_id: i64) -> Result<Adoption, AdoptError> {
        let mut adoption = Adoption::default();
        for attempt in 0..MAX_TRIES {
            let state = self.store.load(user_id).await?;
            if !may_adopt(&state) {
                adoption.own_stream = attempt == 0;
                return Ok(adoption);
            }
            let originals = self.originals.original_sessions(user_id).await?;
            let archives = self.archives_to_adopt(user_id, &state).await?;
            if attempt == 0 {
                adoption.found = Tally {
                    sessions: originals.len() as u64,
                    messages: originals.iter().map(|s| s.conversation.len() as u64).sum(),
                    archives: archives.len() as u64,
                };
            }
            let steps = plan(user_id, &state, &originals, &archives, self.per_append);
            if steps.is_empty() {
                return Ok(adoption);
            }
            match self
                .append_steps(user_id, state, steps, &originals, update_id, &mut adoption)
                .await
            {
                Ok(()) => {
                    tracing::info!(
                        user_id,
                        sessions = adoption.written.sessions,
                        messages = adoption.written.messages,
                        archives = adoption.written.archives,
                        appends = adoption.appends,
                        "adopted the original bot's data"
                    );
                    return Ok(adoption);
                }
                Err(StoreError::VersionConflict { .. }) => {
                    tracing::info!(
                        user_id,
                        "another adopter got ahead; adopting again from fresh state"
                    );
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(AdoptError::Contention { user_id })
    }

    /// Every user the original bot left something of: session items, or archives.
    pub async fn candidates(&self) -> Result<Vec<i64>, AdoptError> {
        let mut users: BTreeSet<i64> = self
            .originals
            .users_with_original_sessions()
            .await?
            .into_iter()
            .collect();
        users.extend(
            self.archives
                .list("archives/")
                .await?
                .iter()
                .filter_map(|key| archive_owner(key)),
        );
        Ok(users.into_iter().collect())
    }

    /// The archives under the user's prefix that the stream does not hold yet, in key order.
    async fn archives_to_adopt(
        &self,
        user_id: i64,
        state: &UserState,
    ) -> Result<Vec<ArchiveSummary>, AdoptError> {
        let mut found = Vec::new();
        for key in self.archives.list(&archive_prefix(user_id)).await? {
            if state.archives.iter().any(|a| a.s3_key == key) {
                continue;
            }
            // Gone since it was listed: nothing to adopt.
            if let Some(body) = self.archives.get(&key).await? {
                found.push(archive_summary(&key, &body));
            }
        }
        Ok(found)
    }

    async fn append_steps(
        &self,
        user_id: i64,
        mut state: UserState,
        steps: Vec<Vec<Event>>,
        originals: &[OriginalSession],
        update_id: i64,
        adoption: &mut Adoption,
    ) -> Result<(), StoreError> {
        for events in steps {
            let tally = Tally::of(&events);
            let recorded = record_step(user_id, &state, events, originals, update_id);
            let written = recorded.events.len() as u64;
            let next = recorded.next.clone();
            self.store
                .append(Append::of(
                    user_id,
                    state.version,
                    recorded,
                    ReceiptWrite::None,
                ))
                .await?;
            adoption.written.add(tally);
            adoption.events += written;
            adoption.appends += 1;
            state = next;
        }
        Ok(())
    }
}
