//! What appending a decision's events writes: each event numbered in the stream, the state
//! after them, the projection changes (coalesced, one write per row) and the archive jobs.

use super::archive_job::ArchiveJob;
use super::deletion::RowsDeletion;
use super::events::{Event, RecordedEvent};
use super::projection::{RowChange, changes_for, coalesce};
use super::restore::RestoreJob;
use super::state::UserState;

#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub events: Vec<RecordedEvent>,
    /// The state after the events.
    pub next: UserState,
    pub changes: Vec<RowChange>,
    pub archive_jobs: Vec<ArchiveJob>,
    /// Message rows of deleted sessions, to delete after the append.
    pub deletions: Vec<RowsDeletion>,
    /// Restored sessions whose messages are still to append.
    pub restores: Vec<RestoreJob>,
}

/// Folds `events` (caused by `update_id`) onto `state`, the user's.
pub fn record(user_id: i64, state: &UserState, events: Vec<Event>, update_id: i64) -> Recorded {
    let mut next = state.clone();
    let mut recorded = Vec::with_capacity(events.len());
    let mut changes = Vec::new();
    let mut archive_jobs = Vec::new();
    let mut deletions = Vec::new();
    let mut restores = Vec::new();
    for event in events {
        changes.extend(changes_for(user_id, &next, &event));
        archive_jobs.extend(ArchiveJob::for_event(user_id, &next, &event));
        deletions.extend(RowsDeletion::for_event(&next, &event));
        restores.extend(RestoreJob::for_event(&event));
        next.apply(&event);
        next.version += 1;
        recorded.push(RecordedEvent {
            version: next.version,
            update_id,
            event,
        });
    }
    Recorded {
        events: recorded,
        next,
        changes: coalesce(changes),
        archive_jobs,
        deletions,
        restores,
    }
}
