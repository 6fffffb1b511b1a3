//! The command role: one Telegram update, idempotently.
//!
//! 1. The gate: is it for the bot, whose stream, may the sender use the bot, over a limit?
//! 2. A receipt for the update exists → the runner finishes what it recorded (if anything is
//!    left) and stops: a redelivered update never decides again, appends again or answers again.
//! 3. Otherwise load the state, prepare the input (an import is validated and stored first),
//!    decide, and append events + state + projection changes + receipt in one transaction; on
//!    a version conflict, start again from fresh state.
//! 4. The runner finishes the receipt: publish, archive jobs, replies, the answer.

use std::sync::Arc;

use tokio::time::Instant;

use crate::bus::EventBus;
use crate::clock::{Clock, SystemClock};
use crate::domain::adoption::may_adopt;
use crate::domain::command::Command;
use crate::domain::decide::{
    Context, HISTORY_LENGTH, ImportOutcome, Input, decide, may_change_sessions,
    needs_backend_status, needs_recent_messages, needs_tokens_by_user, needs_vision,
};
use crate::domain::limits::{TOKENS, Window};
use crate::domain::record::record;
use crate::domain::update::{ChatKind, Classified, Content, Incoming, classify};
use crate::store::{Append, Receipt, ReceiptWrite, StoreError};
use crate::telegram::Telegram;
use crate::transcriber::Transcriber;

use super::adoption::Adopter;
use super::answer::Answerer;
use super::append::with_conflict_retry;
use super::archiver::Archiver;
use super::error::HandleError;
use super::gate::{Gate, Route, Routed, reply_target};
use super::import;
use super::outcome::Outcome;
use super::receipt_runner::{ChatAnswers, Pipeline, ReceiptRunner};
use super::restore;
use super::settings::Settings;
use super::storage::StoragePorts;
use super::voice;

#[derive(Clone)]
pub struct CommandHandler {
    gate: Gate,
    runner: ReceiptRunner,
    /// Takes over what the original bot left of a user before their first decision.
    adopter: Adopter,
    /// Turns voice messages into text, when a service is configured.
    transcriber: Option<Arc<dyn Transcriber>>,
}

impl CommandHandler {
    pub fn new(
        storage: StoragePorts,
        telegram: Arc<dyn Telegram>,
        settings: Settings,
    ) -> CommandHandler {
        let StoragePorts {
            events,
            receipts,
            rows,
            quotas,
            originals,
            archives,
        } = storage;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        CommandHandler {
            adopter: Adopter::new(events.clone(), originals, archives.clone()),
            gate: Gate {
                store: events.clone(),
                quotas: quotas.clone(),
                telegram: telegram.clone(),
                archives: archives.clone(),
                settings,
                clock: clock.clone(),
            },
            runner: ReceiptRunner {
                store: events,
                receipts,
                rows: rows.clone(),
                quotas,
                archiver: Archiver::new(rows, archives.clone()),
                archives,
                telegram,
                pipeline: Pipeline::Local,
                answers: ChatAnswers::StoredOnly,
                clock,
            },
            transcriber: None,
        }
    }

    /// Decides by `clock` (leases, usage windows, answers' times) instead of the system's.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> CommandHandler {
        self.gate.clock = clock.clone();
        self.runner.clock = clock;
        self
    }

    /// Answers chat messages with a model backend.
    pub fn answering_with(mut self, answerer: Answerer) -> CommandHandler {
        self.runner.answers = ChatAnswers::ByModel(Box::new(answerer));
        self
    }

    /// Hears voice messages through `transcriber`.
    pub fn transcribing_with(mut self, transcriber: Arc<dyn Transcriber>) -> CommandHandler {
        self.transcriber = Some(transcriber);
        self
    }

    /// Publishes every recorded event on `bus`, and leaves archiving to the archiver role.
    pub fn publishing_to(mut self, bus: Arc<dyn EventBus>) -> CommandHandler {
        self.runner.pipeline = Pipeline::Bus(bus);
        self
    }

    /// The archiver role's entry, on the `Archived` event: finishes the update's receipt,
    /// running the archive job here (whatever this handler's pipeline), then sending the replies
    /// (so the confirmation is true when it is sent).
    pub async fn finish_update(
        &self,
        user_id: i64,
        update_id: i64,
    ) -> Result<Outcome, HandleError> {
        let runner = self.runner.archiving_here();
        match runner.receipts.receipt(user_id, update_id).await? {
            Some(receipt) => runner.finish_earlier(user_id, receipt, None).await,
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
        let route = match self.gate.route(&incoming).await? {
            Routed::NotForTheBot => return Ok(Outcome::Ignored),
            Routed::Stranger => {
                self.gate.refuse(&incoming).await?;
                return Ok(Outcome::Refused);
            }
            Routed::To(route) => route,
        };
        let user_id = route.owner;
        let receipts = &self.runner.receipts;
        if let Some(receipt) = receipts.receipt(user_id, incoming.update_id).await? {
            return self.runner.finish_earlier(user_id, receipt, deadline).await;
        }
        if self
            .gate
            .over_a_limit(&incoming, &route, self.answering())
            .await?
        {
            return Ok(Outcome::Limited);
        }
        let decided = with_conflict_retry(user_id, || {
            self.decide_and_append(&incoming, &route, deadline)
        })
        .await;
        match decided {
            Ok(receipt) => {
                self.runner
                    .finish_or_release(user_id, receipt, deadline)
                    .await?;
                tracing::info!(user_id, update_id = incoming.update_id, "update handled");
                Ok(Outcome::Handled)
            }
            Err(HandleError::Store(StoreError::AlreadyRecorded { update_id })) => {
                // Another delivery of the same update won the race.
                let receipt = receipts.receipt(user_id, update_id).await?.ok_or_else(|| {
                    StoreError::Corrupt(format!("receipt of update {update_id} vanished"))
                })?;
                self.runner.finish_earlier(user_id, receipt, deadline).await
            }
            Err(other) => Err(other),
        }
    }

    fn answering(&self) -> bool {
        matches!(self.runner.answers, ChatAnswers::ByModel(_))
    }

    async fn decide_and_append(
        &self,
        incoming: &Incoming,
        route: &Route,
        deadline: Option<Instant>,
    ) -> Result<Receipt, HandleError> {
        let user_id = route.owner;
        let store = &self.runner.store;
        let mut state = store.load(user_id).await?;
        // A person's own stream (not a group's, not the bot's) that never decided anything may
        // have the original bot's sessions and archives to take over first.
        if user_id > 0 && may_adopt(&state) {
            let adoption = self.adopter.adopt(user_id, incoming.update_id).await?;
            if adoption.appends > 0 {
                state = store.load(user_id).await?;
            }
        }
        let input = self.input(incoming, route, &state, deadline).await?;
        let recent_messages = match (needs_recent_messages(&input), state.active) {
            (true, Some(session_id)) => {
                self.runner
                    .rows
                    .recent_messages(user_id, session_id, HISTORY_LENGTH)
                    .await?
            }
            _ => Vec::new(),
        };
        let backend = match (&self.runner.answers, needs_backend_status(&input)) {
            (ChatAnswers::ByModel(answerer), true) => Some(answerer.backend_status().await),
            _ => None,
        };
        // A photo is answered by the active session's model, or a new session's.
        let sees_photos = match (&self.runner.answers, needs_vision(&input)) {
            (ChatAnswers::ByModel(answerer), true) => {
                let model = state
                    .active_session()
                    .map_or(self.gate.settings.default_model.as_str(), |s| {
                        s.model_name.as_str()
                    });
                answerer.sees_photos(model).await
            }
            _ => false,
        };
        let in_group = incoming.chat == ChatKind::Group;
        let tokens_by_user = if needs_tokens_by_user(&input, route.is_admin, in_group) {
            let today = Window::day(self.runner.clock.now());
            self.runner.quotas.counts_in_window(TOKENS, today).await?
        } else {
            Vec::new()
        };
        let settings = &self.gate.settings;
        let context = Context {
            user_id,
            sender_id: incoming.user_id,
            in_group: incoming.chat == ChatKind::Group,
            access: &settings.access,
            is_admin: route.is_admin,
            chat_id: incoming.chat_id,
            update_id: incoming.update_id,
            first_name: &incoming.first_name,
            date: incoming.date,
            now: self.runner.clock.now(),
            default_model: &settings.default_model,
            recent_messages: &recent_messages,
            answering: self.answering(),
            backend: backend.as_ref(),
            tokens_by_user: &tokens_by_user,
            sees_photos,
            hears_voice: self.transcriber.is_some(),
            system_prompt: match &self.runner.answers {
                ChatAnswers::ByModel(answerer) => answerer.system_prompt(),
                ChatAnswers::StoredOnly => None,
            },
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
            archive_jobs: recorded.archive_jobs.clone(),
            unpublished: match self.runner.pipeline {
                Pipeline::Bus(_) => recorded.events.clone(),
                Pipeline::Local => Vec::new(),
            },
            replies_sent: 0,
            deletions: recorded.deletions.clone(),
            restores: recorded.restores.clone(),
            answer_message_ids: Vec::new(),
        };
        let write = ReceiptWrite::Create(receipt.clone());
        store
            .append(Append::of(user_id, state.version, recorded, write))
            .await?;
        Ok(receipt)
    }

    /// What the user sent, after the I/O it needs: an import file is fetched, validated and
    /// stored first (unless its sender may not import here).
    async fn input(
        &self,
        incoming: &Incoming,
        route: &Route,
        state: &crate::domain::state::UserState,
        deadline: Option<Instant>,
    ) -> Result<Input, HandleError> {
        Ok(match &incoming.content {
            Content::Text(_) => match route.command.clone().unwrap_or(Command::Blank) {
                Command::Restore(number) => Input::Restore {
                    number,
                    read: restore::read_for_restore(
                        self.runner.archives.as_ref(),
                        state,
                        number,
                        may_change_sessions(incoming.chat == ChatKind::Group, route.is_admin),
                    )
                    .await?,
                },
                command => Input::Command(command),
            },
            Content::Unsupported(kind) => Input::Unsupported(kind),
            Content::Voice(voice) => Input::Voice(
                voice::hear(
                    self.runner.telegram.as_ref(),
                    self.transcriber.as_deref(),
                    voice,
                    deadline,
                )
                .await,
            ),
            Content::Photo(photo) => Input::Photo {
                caption: photo.caption.clone(),
                image: photo.image.clone(),
            },
            Content::Document(_)
                if !may_change_sessions(incoming.chat == ChatKind::Group, route.is_admin) =>
            {
                Input::Import(ImportOutcome::NotFetched)
            }
            Content::Document(document) => Input::Import(
                import::import_document(
                    self.runner.telegram.as_ref(),
                    self.runner.archives.as_ref(),
                    state,
                    route.owner,
                    incoming,
                    document,
                    &self.gate.settings.default_model,
                )
                .await?,
            ),
        })
    }
}
