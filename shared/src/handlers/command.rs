//! Handling one Telegram update, idempotently:
//!
//! 1. A receipt for the update exists → finish what it recorded (if anything is left) and stop:
//!    a redelivered update never decides again, appends again or answers again.
//! 2. Otherwise load the state, prepare the input (an import is validated and stored), decide,
//!    and append events + state + projection changes + receipt in one transaction; on a version
//!    conflict, start again from fresh state.
//! 3. Finish the receipt: run archive jobs, send replies, recording progress after each step.

use std::sync::Arc;

use crate::archive::{ArchiveError, ArchiveStore};
use crate::bus::{BusError, BusEvent, EventBus};
use crate::domain::archive_job::ArchiveJob;
use crate::domain::command::parse;
use crate::domain::decide::{Context, HISTORY_LENGTH, Input, decide, needs_recent_messages};
use crate::domain::events::RecordedEvent;
use crate::domain::projection::{changes_for, coalesce};
use crate::domain::update::{Classified, Content, Incoming, MalformedUpdate, classify};
use crate::store::{Append, EventStore, FINISH_LEASE_SECONDS, Receipt, SessionRows, StoreError};
use crate::telegram::{Telegram, TelegramError};

use super::archiver::{Archiver, ArchiverError};
use super::{delivery, import};

/// How many times a decision is retried after losing a race for the stream.
const MAX_CONFLICT_RETRIES: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The input is not an update; retrying cannot help.
    #[error(transparent)]
    Malformed(#[from] MalformedUpdate),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    Telegram(#[from] TelegramError),
    #[error(transparent)]
    Bus(#[from] BusError),
    /// A bus event that is not one of ours; retrying cannot help.
    #[error("not a cloud-ai event: {0}")]
    MalformedEvent(String),
    #[error("the stream of user {user_id} kept moving; gave up after {MAX_CONFLICT_RETRIES} tries")]
    Contention { user_id: i64 },
    /// Another delivery of the same update holds the right to finish it; try again later.
    #[error("update {update_id} is being finished by another delivery")]
    InProgress { update_id: i64 },
}

impl From<ArchiverError> for HandleError {
    fn from(error: ArchiverError) -> HandleError {
        match error {
            ArchiverError::Store(e) => HandleError::Store(e),
            ArchiverError::Archive(e) => HandleError::Archive(e),
        }
    }
}

impl HandleError {
    /// Whether handling the same update again may succeed (a queue should redeliver it).
    pub fn is_retryable(&self) -> bool {
        !matches!(
            self,
            HandleError::Malformed(_) | HandleError::MalformedEvent(_)
        )
    }
}

/// What became of an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Decided, recorded and answered now.
    Handled,
    /// Seen before and finished then: nothing was done.
    Duplicate,
    /// Seen before but left unfinished (a crash): its recorded replies and jobs were finished.
    Resumed,
    /// Not for the bot to answer (edits, callback queries, other bots, unknown kinds).
    Ignored,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub default_model: String,
    pub bot_username: Option<String>,
}

#[derive(Clone)]
pub struct CommandHandler {
    store: Arc<dyn EventStore>,
    rows: Arc<dyn SessionRows>,
    archives: Arc<dyn ArchiveStore>,
    telegram: Arc<dyn Telegram>,
    archiver: Archiver,
    settings: Settings,
    /// Where events are published; with a bus, archive jobs are left to the archiver role,
    /// which receives the `Archived` event and finishes the update (see [`Self::finish_update`]).
    bus: Option<Arc<dyn EventBus>>,
}

/// How far finishing a receipt got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finished {
    Complete,
    /// Events are published; the archiver finishes the rest (archive, then the replies).
    AwaitingArchiver,
}

impl CommandHandler {
    pub fn new(
        store: Arc<dyn EventStore>,
        rows: Arc<dyn SessionRows>,
        archives: Arc<dyn ArchiveStore>,
        telegram: Arc<dyn Telegram>,
        settings: Settings,
    ) -> CommandHandler {
        let archiver = Archiver::new(rows.clone(), archives.clone());
        CommandHandler {
            store,
            rows,
            archives,
            telegram,
            archiver,
            settings,
            bus: None,
        }
    }

    /// Publishes every recorded event on `bus`, and leaves archiving to the archiver role.
    pub fn publishing_to(mut self, bus: Arc<dyn EventBus>) -> CommandHandler {
        self.bus = Some(bus);
        self
    }

    /// Finishes an update's receipt: the archiver role's entry, on the `Archived` event. Runs the
    /// archive job, then sends the replies (the confirmation is true when it is sent).
    pub async fn finish_update(
        &self,
        user_id: i64,
        update_id: i64,
    ) -> Result<Outcome, HandleError> {
        match self.store.receipt(user_id, update_id).await? {
            Some(receipt) => self.finish_earlier(user_id, receipt).await,
            None => {
                tracing::error!(user_id, update_id, "no receipt for an update to finish");
                Err(StoreError::Corrupt(format!(
                    "no receipt for update {update_id} of user {user_id}"
                ))
                .into())
            }
        }
    }

    /// Handles one raw update (the JSON Telegram sent).
    pub async fn handle(&self, raw: &serde_json::Value) -> Result<Outcome, HandleError> {
        let incoming = match classify(raw)? {
            Classified::Message(incoming) => incoming,
            Classified::Ignored {
                update_id,
                user_id,
                kind,
            } => {
                tracing::info!(update_id, ?user_id, kind, "update ignored");
                return Ok(Outcome::Ignored);
            }
        };
        let user_id = incoming.user_id;
        if let Some(receipt) = self.store.receipt(user_id, incoming.update_id).await? {
            return self.finish_earlier(user_id, receipt).await;
        }
        for _ in 0..MAX_CONFLICT_RETRIES {
            match self.decide_and_append(&incoming).await {
                Ok(receipt) => {
                    self.finish_or_release(user_id, receipt).await?;
                    tracing::info!(user_id, update_id = incoming.update_id, "update handled");
                    return Ok(Outcome::Handled);
                }
                Err(HandleError::Store(StoreError::VersionConflict { .. })) => {
                    tracing::info!(
                        user_id,
                        update_id = incoming.update_id,
                        "lost a race for the stream; deciding again"
                    );
                }
                Err(HandleError::Store(StoreError::AlreadyRecorded { update_id })) => {
                    // Another delivery of the same update won the race.
                    let receipt =
                        self.store
                            .receipt(user_id, update_id)
                            .await?
                            .ok_or_else(|| {
                                StoreError::Corrupt(format!(
                                    "receipt of update {update_id} vanished"
                                ))
                            })?;
                    return self.finish_earlier(user_id, receipt).await;
                }
                Err(other) => return Err(other),
            }
        }
        Err(HandleError::Contention { user_id })
    }

    async fn finish_earlier(&self, user_id: i64, receipt: Receipt) -> Result<Outcome, HandleError> {
        if receipt.is_complete() {
            tracing::info!(
                user_id,
                update_id = receipt.update_id,
                "duplicate update: already handled"
            );
            return Ok(Outcome::Duplicate);
        }
        let now = chrono::Utc::now().timestamp();
        if !self
            .store
            .claim(user_id, receipt.update_id, now, now + FINISH_LEASE_SECONDS)
            .await?
        {
            return Err(HandleError::InProgress {
                update_id: receipt.update_id,
            });
        }
        tracing::info!(
            user_id,
            update_id = receipt.update_id,
            "finishing an update left unfinished"
        );
        self.finish_or_release(user_id, receipt).await?;
        Ok(Outcome::Resumed)
    }

    async fn decide_and_append(&self, incoming: &Incoming) -> Result<Receipt, HandleError> {
        let user_id = incoming.user_id;
        let state = self.store.load(user_id).await?;
        let input = match &incoming.content {
            Content::Text(text) => {
                Input::Command(parse(text, self.settings.bot_username.as_deref()))
            }
            Content::Unsupported(kind) => Input::Unsupported(kind),
            Content::Document(document) => Input::Import(
                import::import_document(
                    self.telegram.as_ref(),
                    self.archives.as_ref(),
                    &state,
                    incoming,
                    document,
                    &self.settings.default_model,
                )
                .await?,
            ),
        };
        let recent_messages = match (needs_recent_messages(&input), state.active) {
            (true, Some(session_id)) => {
                self.rows
                    .recent_messages(user_id, session_id, HISTORY_LENGTH)
                    .await?
            }
            _ => Vec::new(),
        };
        let context = Context {
            user_id,
            chat_id: incoming.chat_id,
            update_id: incoming.update_id,
            first_name: &incoming.first_name,
            date: incoming.date,
            default_model: &self.settings.default_model,
            recent_messages: &recent_messages,
        };
        let decision = decide(&state, &input, &context);

        let mut next = state.clone();
        let mut recorded = Vec::with_capacity(decision.events.len());
        let mut changes = Vec::new();
        let mut archive_jobs = Vec::new();
        for event in decision.events {
            changes.extend(changes_for(user_id, &next, &event));
            archive_jobs.extend(ArchiveJob::for_event(user_id, &next, &event));
            next.apply(&event);
            next.version += 1;
            recorded.push(RecordedEvent {
                version: next.version,
                update_id: incoming.update_id,
                event,
            });
        }
        let receipt = Receipt {
            update_id: incoming.update_id,
            chat_id: incoming.chat_id,
            replies: decision.replies,
            archive_jobs_done: archive_jobs.is_empty(),
            archive_jobs,
            unpublished: if self.bus.is_some() {
                recorded.clone()
            } else {
                Vec::new()
            },
            replies_sent: 0,
        };
        self.store
            .append(Append {
                user_id,
                expected_version: state.version,
                events: &recorded,
                state: &next,
                changes: &coalesce(changes),
                receipt: &receipt,
            })
            .await?;
        Ok(receipt)
    }

    /// Finishes a receipt whose lease this handler holds. The lease is given back when the
    /// rest is the archiver's, or on failure, so that the next one can take it at once.
    async fn finish_or_release(&self, user_id: i64, receipt: Receipt) -> Result<(), HandleError> {
        let update_id = receipt.update_id;
        let result = self.finish(user_id, receipt).await;
        if !matches!(result, Ok(Finished::Complete))
            && let Err(error) = self.store.release(user_id, update_id).await
        {
            tracing::warn!(%error, update_id, "could not give the receipt's lease back; the next try waits for it to expire");
        }
        result.map(|_| ())
    }

    /// Runs what a receipt still lacks, saving progress after each step: publish its events;
    /// run its archive jobs (unless a bus carries them to the archiver); send its replies (after
    /// the archive exists, so a confirmation is true when sent).
    async fn finish(&self, user_id: i64, mut receipt: Receipt) -> Result<Finished, HandleError> {
        if !receipt.unpublished.is_empty() {
            if let Some(bus) = &self.bus {
                let events: Vec<BusEvent> = receipt
                    .unpublished
                    .iter()
                    .map(|e| BusEvent::new(user_id, e))
                    .collect();
                bus.publish(&events).await?;
            }
            receipt.unpublished.clear();
            self.store.save_progress(user_id, &receipt).await?;
        }
        if !receipt.archive_jobs_done {
            if self.bus.is_some() {
                return Ok(Finished::AwaitingArchiver);
            }
            for job in &receipt.archive_jobs {
                self.archiver.run(job).await?;
            }
            receipt.archive_jobs_done = true;
            self.store.save_progress(user_id, &receipt).await?;
        }
        while receipt.replies_sent < receipt.replies.len() {
            let reply = &receipt.replies[receipt.replies_sent];
            delivery::deliver(
                self.telegram.as_ref(),
                self.archives.as_ref(),
                receipt.chat_id,
                reply,
            )
            .await?;
            receipt.replies_sent += 1;
            self.store.save_progress(user_id, &receipt).await?;
        }
        Ok(Finished::Complete)
    }
}
