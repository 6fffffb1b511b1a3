//! Handling one Telegram update, idempotently:
//!
//! 1. A receipt for the update exists → finish what it recorded (if anything is left) and stop:
//!    a redelivered update never decides again, appends again or answers again.
//! 2. Otherwise load the state, prepare the input (an import is validated and stored), decide,
//!    and append events + state + projection changes + receipt in one transaction; on a version
//!    conflict, start again from fresh state.
//! 3. Finish the receipt: run archive jobs, send replies, recording progress after each step.

use std::sync::Arc;

use tokio::time::Instant;
use uuid::Uuid;

use crate::archive::{ArchiveError, ArchiveStore};
use crate::bus::{BusError, BusEvent, EventBus};
use crate::domain::access::{AccessPolicy, BOT_STREAM, REFUSAL_QUIET_SECONDS, Sender};
use crate::domain::adoption::may_adopt;
use crate::domain::command::{Command, parse};
use crate::domain::decide::{
    Context, HISTORY_LENGTH, ImportOutcome, Input, Reply, decide, may_change_sessions,
    needs_backend_status, needs_recent_messages,
};
use crate::domain::events::{Event, Role};
use crate::domain::limits::{Limits, MESSAGES, TOKENS, Window};
use crate::domain::record::record;
use crate::domain::replies;
use crate::domain::update::{ChatKind, Classified, Content, Incoming, MalformedUpdate, classify};
use crate::store::{
    Allowance, Append, EventStore, FINISH_LEASE_SECONDS, OriginalSessions, Quotas, Receipt,
    ReceiptWrite, SessionRows, StoreError,
};
use crate::telegram::{Telegram, TelegramError};

use super::adoption::{AdoptError, Adopter};
use super::answer::{Answerer, Generated};
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
    #[error(transparent)]
    Adopt(#[from] AdoptError),
    /// A bus event that is not one of ours; retrying cannot help.
    #[error("not a cloud-ai event: {0}")]
    MalformedEvent(String),
    #[error("the stream of user {user_id} kept moving; gave up after {MAX_CONFLICT_RETRIES} tries")]
    Contention { user_id: i64 },
    /// An event names an update whose receipt is not (yet) there: a read that did not see the
    /// write, or an event from elsewhere. Retried, so the bus dead-letters it in the end.
    #[error("no receipt for update {update_id} of user {user_id}")]
    NoReceipt { user_id: i64, update_id: i64 },
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
    /// Whether handling the same update again may succeed (a queue should redeliver it). Each
    /// port says so of its own errors; a queue decides from this, never by default.
    pub fn is_retryable(&self) -> bool {
        match self {
            HandleError::Malformed(_) | HandleError::MalformedEvent(_) => false,
            HandleError::Store(error) => error.is_transient(),
            HandleError::Telegram(error) => error.is_transient(),
            HandleError::Archive(error) => error.is_transient(),
            HandleError::Bus(error) => error.is_transient(),
            HandleError::Adopt(error) => error.is_transient(),
            HandleError::Contention { .. }
            | HandleError::NoReceipt { .. }
            | HandleError::InProgress { .. } => true,
        }
    }
}

impl HandleError {
    /// Whether the event store or the archive store itself failed (throttling, an outage, a full
    /// disk): every update would meet it, so the caller should pause, not just retry this one.
    pub fn is_storage_trouble(&self) -> bool {
        matches!(
            self,
            HandleError::Store(StoreError::Backend(_))
                | HandleError::Archive(_)
                | HandleError::Adopt(
                    AdoptError::Store(StoreError::Backend(_)) | AdoptError::Archive(_)
                )
        ) && self.is_retryable()
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
    /// Not for the bot to answer (edits, callback queries, other bots, unknown kinds, group
    /// messages not addressed to it).
    Ignored,
    /// From someone who may not use the bot: nothing stored, at most one polite reply an hour.
    Refused,
    /// Over one of the sender's limits: nothing stored or sent to the model, told once a window.
    Limited,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub default_model: String,
    /// The bot's `@username`: tells `/cmd@this_bot` from other bots' commands, and mentions of
    /// the bot in groups.
    pub bot_username: Option<String>,
    /// The bot's user id (the token's first part): replies to its messages address it.
    pub bot_id: Option<i64>,
    pub access: AccessPolicy,
    pub limits: Limits,
}

/// What routing made of an update.
enum Routed {
    /// A group message that does not address the bot, or a command for another bot.
    NotForTheBot,
    /// From someone who may not use the bot.
    Stranger,
    To(Route),
}

/// Where an update goes, decided before anything is written for it.
struct Route {
    /// The stream it is decided on: the sender's, the group's, or the bot's (access commands).
    owner: i64,
    /// The text's command; `None` for documents and other kinds.
    command: Option<Command>,
    is_admin: bool,
}

#[derive(Clone)]
pub struct CommandHandler {
    store: Arc<dyn EventStore>,
    rows: Arc<dyn SessionRows>,
    quotas: Arc<dyn Quotas>,
    archives: Arc<dyn ArchiveStore>,
    telegram: Arc<dyn Telegram>,
    archiver: Archiver,
    /// Takes over what the original bot left of a user before their first decision.
    adopter: Adopter,
    settings: Settings,
    /// Where events are published; with a bus, archive jobs are left to the archiver role,
    /// which receives the `Archived` event and finishes the update (see [`Self::finish_update`]).
    bus: Option<Arc<dyn EventBus>>,
    /// The model backend that answers chat messages; without one they are only stored.
    answerer: Option<Answerer>,
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
        quotas: Arc<dyn Quotas>,
        originals: Arc<dyn OriginalSessions>,
        archives: Arc<dyn ArchiveStore>,
        telegram: Arc<dyn Telegram>,
        settings: Settings,
    ) -> CommandHandler {
        let archiver = Archiver::new(rows.clone(), archives.clone());
        let adopter = Adopter::new(store.clone(), originals, archives.clone());
        CommandHandler {
            adopter,
            store,
            rows,
            quotas,
            archives,
            telegram,
            archiver,
            settings,
            bus: None,
            answerer: None,
        }
    }

    /// Answers chat messages with a model backend.
    pub fn answering_with(mut self, answerer: Answerer) -> CommandHandler {
        self.answerer = Some(answerer);
        self
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
            Some(receipt) => self.finish_earlier(user_id, receipt, None).await,
            None => {
                tracing::error!(user_id, update_id, "no receipt for an update to finish");
                Err(HandleError::NoReceipt { user_id, update_id })
            }
        }
    }

    /// Handles one raw update (the JSON Telegram sent).
    pub async fn handle(&self, raw: &serde_json::Value) -> Result<Outcome, HandleError> {
        self.handle_until(raw, None).await
    }

    /// Handles one raw update, finishing before `deadline` (a Lambda invocation's end): an
    /// answer that would run past it is cut short with a note.
    pub async fn handle_until(
        &self,
        raw: &serde_json::Value,
        deadline: Option<Instant>,
    ) -> Result<Outcome, HandleError> {
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
        let route = match self.route(&incoming).await? {
            Routed::NotForTheBot => return Ok(Outcome::Ignored),
            Routed::Stranger => return self.refuse(&incoming).await,
            Routed::To(route) => route,
        };
        let user_id = route.owner;
        if let Some(receipt) = self.store.receipt(user_id, incoming.update_id).await? {
            return self.finish_earlier(user_id, receipt, deadline).await;
        }
        if self.over_a_limit(&incoming, &route).await? {
            return Ok(Outcome::Limited);
        }
        for _ in 0..MAX_CONFLICT_RETRIES {
            match self.decide_and_append(&incoming, &route).await {
                Ok(receipt) => {
                    self.finish_or_release(user_id, receipt, deadline).await?;
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
                    return self.finish_earlier(user_id, receipt, deadline).await;
                }
                Err(other) => return Err(other),
            }
        }
        Err(HandleError::Contention { user_id })
    }

    /// Where an update goes. The access lists are read afresh for every update, so a change
    /// counts at once.
    async fn route(&self, incoming: &Incoming) -> Result<Routed, HandleError> {
        let bot_username = self.settings.bot_username.as_deref();
        if !incoming.is_addressed(self.settings.bot_id, bot_username) {
            tracing::info!(
                update_id = incoming.update_id,
                chat_id = incoming.chat_id,
                "a group message not addressed to the bot; ignored"
            );
            return Ok(Routed::NotForTheBot);
        }
        let command = match &incoming.content {
            Content::Text(text) => Some(parse(text, bot_username)),
            _ => None,
        };
        if matches!(command, Some(Command::ForAnotherBot)) {
            tracing::info!(update_id = incoming.update_id, "a command for another bot");
            return Ok(Routed::NotForTheBot);
        }
        let sender = Sender {
            id: incoming.user_id,
            username: incoming.username.clone(),
        };
        let changes = self.store.load(BOT_STREAM).await?.access;
        if !self.settings.access.may_use(&changes, &sender) {
            return Ok(Routed::Stranger);
        }
        let owner = match command {
            Some(Command::Allow(_) | Command::Deny(_) | Command::Users) => BOT_STREAM,
            _ => incoming.owner(),
        };
        Ok(Routed::To(Route {
            owner,
            command,
            is_admin: self.settings.access.is_admin(&sender),
        }))
    }

    /// Counts the update against the sender's messages a minute and, for a chat message the
    /// model would answer, checks their tokens today. Over either: tells them once a window and
    /// says so (the update is then dropped; a crash before the append may count it twice).
    async fn over_a_limit(&self, incoming: &Incoming, route: &Route) -> Result<bool, HandleError> {
        let limits = self.settings.limits;
        let now = chrono::Utc::now().timestamp();
        let sender = incoming.user_id;
        let minute = Window::minute(now);
        let mut over = None;
        if let Allowance::Refused { first } = self
            .quotas
            .take(sender, MESSAGES, minute, 1, limits.messages_per_minute)
            .await?
        {
            over = Some((
                first,
                replies::too_many_messages(limits.messages_per_minute, minute.resets_at),
            ));
        }
        let chat = matches!(route.command, Some(Command::Chat(_)));
        if over.is_none() && chat && self.answerer.is_some() {
            let day = Window::day(now);
            if let Allowance::Refused { first } = self
                .quotas
                .take(sender, TOKENS, day, 0, limits.tokens_per_day)
                .await?
            {
                over = Some((
                    first,
                    replies::tokens_used_up(limits.tokens_per_day, day.resets_at, now),
                ));
            }
        }
        let Some((first, text)) = over else {
            return Ok(false);
        };
        tracing::info!(
            user_id = sender,
            update_id = incoming.update_id,
            told = first,
            "over a limit; the update is dropped"
        );
        if first {
            self.tell(incoming, text).await?;
        }
        Ok(true)
    }

    /// Tells a stranger, once an hour at most, how to get in; stores nothing about the update.
    async fn refuse(&self, incoming: &Incoming) -> Result<Outcome, HandleError> {
        let now = chrono::Utc::now().timestamp();
        let tell = self
            .quotas
            .note_refusal(incoming.user_id, now, REFUSAL_QUIET_SECONDS)
            .await?;
        tracing::info!(
            user_id = incoming.user_id,
            update_id = incoming.update_id,
            told = tell,
            "someone who may not use the bot was refused"
        );
        if tell {
            self.tell(incoming, replies::stranger(incoming.user_id))
                .await?;
        }
        Ok(Outcome::Refused)
    }

    /// A reply to an update that is not recorded (a refusal, a limit): sent at most once, since
    /// the caller noted it first.
    async fn tell(&self, incoming: &Incoming, text: String) -> Result<(), HandleError> {
        delivery::deliver(
            self.telegram.as_ref(),
            self.archives.as_ref(),
            incoming.chat_id,
            reply_target(incoming),
            &Reply::text(text),
        )
        .await
    }

    async fn finish_earlier(
        &self,
        user_id: i64,
        receipt: Receipt,
        deadline: Option<Instant>,
    ) -> Result<Outcome, HandleError> {
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
        self.finish_or_release(user_id, receipt, deadline).await?;
        Ok(Outcome::Resumed)
    }

    async fn decide_and_append(
        &self,
        incoming: &Incoming,
        route: &Route,
    ) -> Result<Receipt, HandleError> {
        let user_id = route.owner;
        let mut state = self.store.load(user_id).await?;
        // A person's own stream (not a group's, not the bot's) that never decided anything may
        // have the original bot's sessions and archives to take over first.
        if user_id > 0 && may_adopt(&state) {
            let adoption = self.adopter.adopt(user_id, incoming.update_id).await?;
            if adoption.appends > 0 {
                state = self.store.load(user_id).await?;
            }
        }
        let input = match &incoming.content {
            Content::Text(_) => Input::Command(route.command.clone().unwrap_or(Command::Blank)),
            Content::Unsupported(kind) => Input::Unsupported(kind),
            Content::Document(_)
                if !may_change_sessions(incoming.chat == ChatKind::Group, route.is_admin) =>
            {
                Input::Import(ImportOutcome::NotFetched)
            }
            Content::Document(document) => Input::Import(
                import::import_document(
                    self.telegram.as_ref(),
                    self.archives.as_ref(),
                    &state,
                    user_id,
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
        let backend = match (&self.answerer, needs_backend_status(&input)) {
            (Some(answerer), true) => Some(answerer.backend_status().await),
            _ => None,
        };
        let context = Context {
            user_id,
            sender_id: incoming.user_id,
            in_group: incoming.chat == ChatKind::Group,
            access: &self.settings.access,
            is_admin: route.is_admin,
            chat_id: incoming.chat_id,
            update_id: incoming.update_id,
            first_name: &incoming.first_name,
            date: incoming.date,
            default_model: &self.settings.default_model,
            recent_messages: &recent_messages,
            answering: self.answerer.is_some(),
            backend: backend.as_ref(),
        };
        let decision = decide(&state, &input, &context);

        let recorded = record(user_id, &state, decision.events, incoming.update_id);
        let receipt = Receipt {
            update_id: incoming.update_id,
            chat_id: incoming.chat_id,
            reply_to: reply_target(incoming),
            asked_by: incoming.user_id,
            replies: decision.replies,
            archive_jobs_done: recorded.archive_jobs.is_empty(),
            archive_jobs: recorded.archive_jobs,
            unpublished: if self.bus.is_some() {
                recorded.events.clone()
            } else {
                Vec::new()
            },
            replies_sent: 0,
            answer_message_ids: Vec::new(),
        };
        self.store
            .append(Append {
                user_id,
                expected_version: state.version,
                events: &recorded.events,
                state: &recorded.next,
                changes: &recorded.changes,
                receipt: ReceiptWrite::New(&receipt),
            })
            .await?;
        Ok(receipt)
    }

    /// Finishes a receipt whose lease this handler holds. The lease is given back when the
    /// rest is the archiver's, or on failure, so that the next one can take it at once.
    async fn finish_or_release(
        &self,
        user_id: i64,
        receipt: Receipt,
        deadline: Option<Instant>,
    ) -> Result<(), HandleError> {
        let update_id = receipt.update_id;
        let result = self.finish(user_id, receipt, deadline).await;
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
    async fn finish(
        &self,
        user_id: i64,
        mut receipt: Receipt,
        deadline: Option<Instant>,
    ) -> Result<Finished, HandleError> {
        self.publish(user_id, &mut receipt).await?;
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
            let reply = receipt.replies[receipt.replies_sent].clone();
            match &reply {
                Reply::Answer { session_id, model } => {
                    self.answer(user_id, &mut receipt, *session_id, model, deadline)
                        .await?;
                    // The answer's own event.
                    self.publish(user_id, &mut receipt).await?;
                }
                _ => {
                    delivery::deliver(
                        self.telegram.as_ref(),
                        self.archives.as_ref(),
                        receipt.chat_id,
                        receipt.reply_to,
                        &reply,
                    )
                    .await?;
                    receipt.replies_sent += 1;
                    self.store.save_progress(user_id, &receipt).await?;
                }
            }
        }
        Ok(Finished::Complete)
    }

    /// Publishes the receipt's unpublished events (when there is a bus) and records that.
    async fn publish(&self, user_id: i64, receipt: &mut Receipt) -> Result<(), HandleError> {
        if receipt.unpublished.is_empty() {
            return Ok(());
        }
        if let Some(bus) = &self.bus {
            let events: Vec<BusEvent> = receipt
                .unpublished
                .iter()
                .map(|e| BusEvent::new(user_id, e))
                .collect();
            bus.publish(&events).await?;
        }
        receipt.unpublished.clear();
        self.store.save_progress(user_id, receipt).await?;
        Ok(())
    }

    /// Generates and shows the model's answer, then records it as the session's next message in
    /// the same write that marks the reply sent, so it is recorded once.
    async fn answer(
        &self,
        user_id: i64,
        receipt: &mut Receipt,
        session_id: Uuid,
        model: &str,
        deadline: Option<Instant>,
    ) -> Result<(), HandleError> {
        let Some(answerer) = &self.answerer else {
            // Configuration changed since the decision: say so instead of answering.
            let text = crate::domain::replies::answer_failed(
                &crate::domain::backend::AnswerFailure::Unreachable,
            );
            delivery::deliver(
                self.telegram.as_ref(),
                self.archives.as_ref(),
                receipt.chat_id,
                receipt.reply_to,
                &Reply::text(text),
            )
            .await?;
            receipt.replies_sent += 1;
            self.store.save_progress(user_id, receipt).await?;
            return Ok(());
        };
        let (generated, stats, tokens) = answerer
            .answer(
                self.telegram.as_ref(),
                self.rows.as_ref(),
                self.store.as_ref(),
                user_id,
                receipt,
                session_id,
                model,
                deadline,
            )
            .await?;
        if let Some(tokens) = tokens {
            // Charged to whoever asked (in a group, the member), against their daily tokens.
            let asker = if receipt.asked_by != 0 {
                receipt.asked_by
            } else {
                user_id
            };
            let day = Window::day(chrono::Utc::now().timestamp());
            if let Err(error) = self.quotas.take(asker, TOKENS, day, tokens, u64::MAX).await {
                tracing::warn!(%error, user_id = asker, tokens, "the answer's tokens could not be counted");
            }
        }
        tracing::info!(
            user_id,
            update_id = receipt.update_id,
            tokens,
            complete = matches!(generated, Generated::Complete(_)),
            sends = stats.sends,
            edits = stats.edits,
            "answer shown"
        );
        let text = match generated {
            Generated::Complete(text) if !text.trim().is_empty() => text,
            _ => {
                receipt.replies_sent += 1;
                self.store.save_progress(user_id, receipt).await?;
                return Ok(());
            }
        };
        for _ in 0..MAX_CONFLICT_RETRIES {
            let state = self.store.load(user_id).await?;
            let mut next_receipt = receipt.clone();
            next_receipt.replies_sent += 1;
            if !state.sessions.iter().any(|s| s.session_id == session_id) {
                // Archived while the model wrote: the answer was shown, the session is gone.
                *receipt = next_receipt;
                self.store.save_progress(user_id, receipt).await?;
                return Ok(());
            }
            let event = Event::MessagePosted {
                session_id,
                role: Role::Assistant,
                content: text.clone(),
                ts: chrono::Utc::now().timestamp(),
            };
            let recorded = record(user_id, &state, vec![event], receipt.update_id);
            if self.bus.is_some() {
                next_receipt
                    .unpublished
                    .extend(recorded.events.iter().cloned());
            }
            match self
                .store
                .append(Append {
                    user_id,
                    expected_version: state.version,
                    events: &recorded.events,
                    state: &recorded.next,
                    changes: &recorded.changes,
                    receipt: ReceiptWrite::Existing(&next_receipt),
                })
                .await
            {
                Ok(()) => {
                    *receipt = next_receipt;
                    return Ok(());
                }
                Err(StoreError::VersionConflict { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(HandleError::Contention { user_id })
    }
}

/// In a group, replies quote the message that asked (several people talk there); in a private
/// chat they need not.
fn reply_target(incoming: &Incoming) -> Option<i64> {
    (incoming.chat == ChatKind::Group).then_some(incoming.message_id)
}
