//! A chat message's answer: the session's conversation (built in `conversation.rs`) goes to the
//! model backend, and the answer is shown while it streams in. The
//! typing indicator is refreshed until the first text arrives. A backend that is down, lacks the
//! model, fails mid-stream, stalls, or would outlast the invocation ends the answer with a clear
//! note; the user's message stays in the session either way.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::time::Instant;
use uuid::Uuid;

use crate::domain::backend::{AnswerFailure, BackendFacts, BackendStatus};
use crate::domain::persona::Persona;
use crate::domain::replies;
use crate::domain::usage::TokenUsage;
use crate::model::{AnswerStream, ChatRequest, ModelBackend, ModelError};
use crate::store::{Receipt, Receipts, SessionRows};
use crate::telegram::Telegram;
use crate::telegram::live_message::{LiveMessage, LiveStats};

use super::error::HandleError;
pub use super::settings::AnswerSettings;

/// How an answer ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Generated {
    /// The model finished; its whole text.
    Complete(String),
    /// The answer stopped early; what was written so far.
    Failed {
        partial: String,
        failure: AnswerFailure,
    },
}

#[derive(Clone)]
pub struct Answerer {
    pub(super) model: Arc<dyn ModelBackend>,
    pub(super) settings: AnswerSettings,
    /// What the backend said of each model's vision, and when (a photo's decision and its
    /// answer both ask; see `conversation.rs`).
    pub(super) vision_said: Arc<std::sync::Mutex<HashMap<String, (bool, std::time::Instant)>>>,
}

impl Answerer {
    pub fn new(model: Arc<dyn ModelBackend>, settings: AnswerSettings) -> Answerer {
        Answerer {
            model,
            settings,
            vision_said: Arc::default(),
        }
    }

    /// The bot's `SYSTEM_PROMPT`: what a session with the default persona is told.
    pub fn system_prompt(&self) -> Option<&str> {
        self.settings.budget.system_prompt.as_deref()
    }

    /// The backend's state for `/status` and `/model`.
    pub async fn backend_status(&self) -> BackendStatus {
        let facts = async {
            let models = self.model.models().await?;
            let version = self.model.version().await?;
            Ok::<_, ModelError>(BackendFacts { version, models })
        }
        .await
        .map_err(|e| {
            // Users are told only that it is not answering; the reason is here.
            tracing::warn!(error = %e, "the model backend did not answer for /status or /model");
            e.to_string()
        });
        BackendStatus {
            kind: self.model.kind().to_string(),
            facts,
        }
    }

    /// Generates the answer and shows it in the chat (reusing the messages an interrupted try
    /// recorded in the receipt, and recording new ones as they are sent). Returns how it ended,
    /// the tokens the backend says it took, and what showing it cost.
    pub async fn answer(
        &self,
        ports: AnswerPorts<'_>,
        question: Question<'_>,
        receipt: &mut Receipt,
    ) -> Result<(Generated, LiveStats, Option<TokenUsage>), HandleError> {
        let deadline = question.deadline.map_or_else(
            || Instant::now() + self.settings.time_limit,
            |d| {
                d.checked_sub(self.settings.reserve)
                    .unwrap_or_else(Instant::now)
            },
        );
        let request = self.request(&ports, &question).await?;
        let mut live = LiveMessage::new(
            ports.telegram,
            receipt.chat_id,
            receipt.reply_to,
            &receipt.answer_message_ids,
            self.settings.live,
        );
        let mut progress = InProgress {
            live: &mut live,
            receipts: ports.receipts,
            user_id: question.user_id,
            receipt,
            tokens: None,
            cut: false,
        };
        let generated = self.generate(&mut progress, &request, deadline).await?;
        let shown = match &generated {
            Generated::Complete(text) if text.trim().is_empty() => replies::empty_answer(),
            Generated::Complete(text) if progress.cut => {
                format!("{text}\n\n{}", replies::answer_cut(request.max_tokens))
            }
            Generated::Complete(text) => text.clone(),
            Generated::Failed { partial, failure } if partial.trim().is_empty() => {
                replies::answer_failed(failure)
            }
            Generated::Failed { partial, failure } => {
                format!("{partial}\n\n{}", replies::answer_failed(failure))
            }
        };
        match progress.live.finish(&shown).await {
            Ok(()) => {}
            Err(e) if e.is_transient() => return Err(e.into()),
            Err(e) => tracing::warn!(error = %e, "Telegram refused the answer; it is dropped"),
        }
        // A complete answer is recorded next, with its messages, in one write; anything else
        // keeps its messages now, so a retry edits them instead of sending them again.
        if !matches!(&generated, Generated::Complete(text) if !text.trim().is_empty()) {
            progress.remember_messages().await?;
        }
        let tokens = progress.tokens;
        Ok((generated, live.stats, tokens))
    }

    /// Streams the model's answer into `progress`; how it ended.
    async fn generate(
        &self,
        progress: &mut InProgress<'_, '_>,
        request: &ChatRequest,
        deadline: Instant,
    ) -> Result<Generated, HandleError> {
        let telegram = progress.live.telegram();
        let chat_id = progress.receipt.chat_id;
        let mut typing = tokio::time::interval(self.settings.typing_every);
        let failed = |partial: &str, failure| Generated::Failed {
            partial: partial.to_string(),
            failure,
        };
        // The model may take a while to load before it answers at all, but not for ever: a
        // backend that accepts and says nothing must not hold the chat (and a worker).
        let first_token = self.settings.first_token;
        let first_text_by = (Instant::now() + first_token).min(deadline);
        let not_started = || {
            tracing::warn!(
                model = %request.model,
                seconds = first_token.as_secs(),
                "the model sent no text in time; the answer is given up"
            );
            failed("", AnswerFailure::NotStarted(first_token.as_secs()))
        };
        let started = self.chat_fitting(request);
        tokio::pin!(started);
        let mut stream = loop {
            tokio::select! {
                started = &mut started => match started {
                    Ok(stream) => break stream,
                    Err(error) => {
                        tracing::warn!(%error, model = %request.model, "the model backend refused the chat");
                        return Ok(failed("", self.failure_of(error).await));
                    }
                },
                _ = typing.tick() => show_typing(telegram, chat_id).await,
                _ = tokio::time::sleep_until(first_text_by) => {
                    return Ok(if first_text_by < deadline { not_started() } else { failed("", AnswerFailure::OutOfTime) });
                }
            }
        };
        let mut text = String::new();
        loop {
            let silence_ends = if text.is_empty() {
                first_text_by
            } else {
                Instant::now() + self.settings.stall
            };
            let stall = tokio::time::sleep_until(silence_ends);
            tokio::select! {
                piece = stream.next() => match piece {
                    None => {
                        progress.finished(stream.as_ref());
                        return Ok(Generated::Complete(text));
                    }
                    Some(Ok(piece)) => {
                        text.push_str(&piece);
                        // What has arrived is shown, not each piece: an answer complete before
                        // its first send goes out as one message, with no edit to wait for.
                        match take_arrived(stream.as_mut(), &mut text).await {
                            Arrived::More => {}
                            Arrived::End => {
                                progress.finished(stream.as_ref());
                                return Ok(Generated::Complete(text));
                            }
                            Arrived::Failed(error) => {
                                tracing::warn!(%error, "the model's answer broke off");
                                return Ok(failed(&text, self.failure_of(error).await));
                            }
                        }
                        let known = progress.live.message_ids().len();
                        if let Err(error) = progress.live.show(&text).await {
                            // Never recorded as complete: the model had more to say.
                            tracing::warn!(%error, "Telegram refused the answer; it stops here");
                            return Ok(failed(&text, AnswerFailure::Refused));
                        }
                        if progress.live.message_ids().len() != known {
                            progress.remember_messages().await?;
                        }
                    }
                    Some(Err(error)) => {
                        tracing::warn!(%error, "the model's answer broke off");
                        return Ok(failed(&text, self.failure_of(error).await));
                    }
                },
                _ = typing.tick(), if text.is_empty() => show_typing(telegram, chat_id).await,
                _ = stall => return Ok(if !text.is_empty() {
                    failed(&text, AnswerFailure::Stalled)
                } else if first_text_by < deadline {
                    not_started()
                } else {
                    failed("", AnswerFailure::OutOfTime)
                }),
                _ = tokio::time::sleep_until(deadline) => return Ok(failed(&text, AnswerFailure::OutOfTime)),
            }
        }
    }

    /// What the user is told of a backend error: for a missing model, the models there are
    /// (asked only then), so they can choose one.
    async fn failure_of(&self, error: ModelError) -> AnswerFailure {
        match error {
            ModelError::Unreachable { .. } => AnswerFailure::Unreachable,
            ModelError::UnknownModel { model, .. } => {
                let installed = self
                    .model
                    .models()
                    .await
                    .inspect_err(
                        |e| tracing::warn!(error = %e, "the model backend did not list its models"),
                    )
                    .ok();
                AnswerFailure::UnknownModel { model, installed }
            }
            ModelError::Backend(detail) | ModelError::Decode(detail) => {
                AnswerFailure::Backend(detail.chars().take(200).collect())
            }
            ModelError::WindowExceeded(_) => AnswerFailure::Backend(error.to_string()),
        }
    }
}

/// Where an answer's conversation is read, and where it is shown and its progress kept.
#[derive(Clone, Copy)]
pub struct AnswerPorts<'a> {
    pub telegram: &'a dyn Telegram,
    pub rows: &'a dyn SessionRows,
    pub receipts: &'a dyn Receipts,
}

/// What to answer: a session's conversation, by a model, before a deadline.
#[derive(Debug, Clone, Copy)]
pub struct Question<'a> {
    pub user_id: i64,
    pub session_id: Uuid,
    pub model: &'a str,
    /// The answer (message number) the new one takes the place of (`/retry`).
    pub replaces: Option<u64>,
    /// The session's system prompt.
    pub persona: &'a Persona,
    /// The invocation's end, if it has one.
    pub deadline: Option<Instant>,
}

/// An answer being shown: its messages, and the receipt that remembers them.
struct InProgress<'l, 'a> {
    live: &'l mut LiveMessage<'a>,
    receipts: &'a dyn Receipts,
    user_id: i64,
    receipt: &'l mut Receipt,
    /// The tokens the answer took, once the backend says.
    tokens: Option<TokenUsage>,
    /// Whether the backend stopped the answer at its length limit.
    cut: bool,
}

impl InProgress<'_, '_> {
    /// What the finished stream says of the answer: its tokens, and whether it was cut.
    fn finished(&mut self, stream: &dyn AnswerStream) {
        self.tokens = stream.usage();
        self.cut = stream.cut();
    }

    /// Records the answer's messages in the receipt, so a retry edits them instead of sending
    /// the answer twice.
    async fn remember_messages(&mut self) -> Result<(), HandleError> {
        let ids = self.live.message_ids();
        if ids != self.receipt.answer_message_ids {
            self.receipt.answer_message_ids = ids;
            self.receipts
                .save_progress(self.user_id, self.receipt)
                .await?;
        }
        Ok(())
    }
}

/// What the stream held beyond the pieces already taken.
enum Arrived {
    /// Nothing more yet.
    More,
    /// Its end.
    End,
    Failed(ModelError),
}

/// Appends to `text` every piece that has already arrived, without waiting for one.
async fn take_arrived(stream: &mut dyn AnswerStream, text: &mut String) -> Arrived {
    loop {
        tokio::select! {
            biased;
            piece = stream.next() => match piece {
                Some(Ok(piece)) => text.push_str(&piece),
                Some(Err(error)) => return Arrived::Failed(error),
                None => return Arrived::End,
            },
            () = std::future::ready(()) => return Arrived::More,
        }
    }
}

/// The typing indicator; its failure never matters.
async fn show_typing(telegram: &dyn Telegram, chat_id: i64) {
    if let Err(error) = telegram.send_chat_action(chat_id, "typing").await {
        tracing::debug!(%error, "sendChatAction failed");
    }
}
