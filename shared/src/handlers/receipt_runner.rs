//! Finishing what an update's receipt calls for, after its decision is recorded: publish its
//! events, run its archive jobs, send its replies and stream its answer, saving progress after
//! each step so that a redelivery after a crash goes on from there and repeats nothing it had
//! recorded. The command role runs it after each decision; the archiver role runs it on the
//! `Archived` event.

use std::sync::Arc;

use tokio::time::Instant;

use crate::archive::ArchiveStore;
use crate::bus::BusEvent;
use crate::clock::Clock;
use crate::domain::backend::AnswerFailure;
use crate::domain::decide::Reply;
use crate::domain::events::{Event, Role};
use crate::domain::record::{Recorded, record};
use crate::domain::replies;
use crate::domain::restore::{RestoreJob, next_restore_events};
use crate::domain::usage::TokenUsage;
use crate::store::{
    Append, EventStore, FINISH_LEASE_SECONDS, Quotas, Receipt, ReceiptWrite, Receipts, SessionRows,
};
use crate::telegram::Telegram;

use super::answer::{AnswerPorts, Answerer, Generated, Question};
use super::append::with_conflict_retry;
use super::archiver::Archiver;
use super::delivery;
use super::error::HandleError;
use super::gate::charge_tokens;
use super::outcome::Outcome;
use super::restore;
pub use super::settings::Pipeline;

/// What becomes of a chat message.
#[derive(Clone)]
pub enum ChatAnswers {
    /// Stored in the session; the reply says no model backend is configured.
    StoredOnly,
    /// Answered by the model backend, streamed into the chat.
    ByModel(Box<Answerer>),
}

/// How far finishing a receipt got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finished {
    Complete,
    /// Events are published; the archiver finishes the rest (archive, then the replies).
    AwaitingArchiver,
}

#[derive(Clone)]
pub(super) struct ReceiptRunner {
    pub store: Arc<dyn EventStore>,
    pub receipts: Arc<dyn Receipts>,
    /// The conversation an answer is generated from.
    pub rows: Arc<dyn SessionRows>,
    pub quotas: Arc<dyn Quotas>,
    pub archives: Arc<dyn ArchiveStore>,
    pub telegram: Arc<dyn Telegram>,
    pub archiver: Archiver,
    pub pipeline: Pipeline,
    pub answers: ChatAnswers,
    pub clock: Arc<dyn Clock>,
}

impl ReceiptRunner {
    /// The same runner, running archive jobs itself whatever its pipeline: the archiver role.
    pub fn archiving_here(&self) -> ReceiptRunner {
        ReceiptRunner {
            pipeline: Pipeline::Local,
            ..self.clone()
        }
    }

    /// Finishes the receipt of an update seen before, if anything is left and no other delivery
    /// holds the right to.
    pub async fn finish_earlier(
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
        let now = self.clock.now();
        if !self
            .receipts
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

    /// Finishes a receipt whose lease this handler holds. The lease is given back when the
    /// rest is the archiver's, or on failure, so that the next one can take it at once.
    pub async fn finish_or_release(
        &self,
        user_id: i64,
        receipt: Receipt,
        deadline: Option<Instant>,
    ) -> Result<(), HandleError> {
        let update_id = receipt.update_id;
        let result = self.finish(user_id, receipt, deadline).await;
        if !matches!(result, Ok(Finished::Complete))
            && let Err(error) = self.receipts.release(user_id, update_id).await
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
        // When a step follows here, its save records the publishing too (one write less); a
        // crash before it publishes again, which the bus's consumers take as the same events.
        let saved_later = receipt.replies_sent < receipt.replies.len()
            && (receipt.archive_jobs_done || matches!(self.pipeline, Pipeline::Local));
        self.publish(user_id, &mut receipt, saved_later).await?;
        if !receipt.archive_jobs_done {
            if let Pipeline::Bus(_) = self.pipeline {
                return Ok(Finished::AwaitingArchiver);
            }
            for job in &receipt.archive_jobs {
                self.archiver.run(job).await?;
            }
            receipt.archive_jobs_done = true;
            self.receipts.save_progress(user_id, &receipt).await?;
        }
        if !receipt.deletions.is_empty() {
            for deletion in &receipt.deletions {
                self.rows
                    .delete_session(user_id, &deletion.session_sort_key, deletion.session_id)
                    .await?;
            }
            receipt.deletions.clear();
            self.receipts.save_progress(user_id, &receipt).await?;
        }
        while let Some(job) = receipt.restores.first().cloned() {
            self.restore(user_id, &mut receipt, &job).await?;
            receipt.restores.remove(0);
            self.receipts.save_progress(user_id, &receipt).await?;
        }
        while receipt.replies_sent < receipt.replies.len() {
            let reply = receipt.replies[receipt.replies_sent].clone();
            match &reply {
                Reply::Answer {
                    session_id,
                    model,
                    replaces,
                    persona,
                } => {
                    let question = Question {
                        user_id,
                        session_id: *session_id,
                        model,
                        replaces: *replaces,
                        persona,
                        deadline,
                    };
                    self.answer(&mut receipt, question).await?;
                    // The answer's own event.
                    let saved_later = receipt.replies_sent < receipt.replies.len();
                    self.publish(user_id, &mut receipt, saved_later).await?;
                }
                _ => {
                    self.deliver(&receipt, &reply).await?;
                    receipt.replies_sent += 1;
                    self.receipts.save_progress(user_id, &receipt).await?;
                }
            }
        }
        Ok(Finished::Complete)
    }

    /// Appends a restored session's messages from its archive, one bounded append at a time (each
    /// with the receipt, so a bus gets its events), from the last one recorded.
    async fn restore(
        &self,
        user_id: i64,
        receipt: &mut Receipt,
        job: &RestoreJob,
    ) -> Result<(), HandleError> {
        let archive = match restore::restorable(self.archives.as_ref(), &job.s3_key).await? {
            Ok(archive) => archive,
            Err(reason) => {
                // Read before the decision; changed since, it restores no further.
                tracing::error!(user_id, s3_key = %job.s3_key, %reason, "an archive being restored can no longer be read");
                return Ok(());
            }
        };
        loop {
            let current: &Receipt = receipt;
            let archive = &archive;
            let appended = with_conflict_retry(user_id, || async move {
                let state = self.store.load(user_id).await?;
                let events = next_restore_events(&state, job.session_id, archive);
                if events.is_empty() {
                    return Ok(None);
                }
                let recorded = record(user_id, &state, events, current.update_id);
                self.append_with_receipt(user_id, state.version, recorded, current.clone())
                    .await
                    .map(Some)
            })
            .await?;
            let Some(next_receipt) = appended else {
                return Ok(());
            };
            *receipt = next_receipt;
            self.publish(user_id, receipt, false).await?;
        }
    }

    async fn deliver(&self, receipt: &Receipt, reply: &Reply) -> Result<(), HandleError> {
        delivery::deliver(
            self.telegram.as_ref(),
            self.archives.as_ref(),
            receipt.chat_id,
            receipt.reply_to,
            reply,
        )
        .await
    }

    /// Publishes the receipt's unpublished events (when there is a bus) and records that, now
    /// or (`saved_later`) with the next step's save.
    async fn publish(
        &self,
        user_id: i64,
        receipt: &mut Receipt,
        saved_later: bool,
    ) -> Result<(), HandleError> {
        if receipt.unpublished.is_empty() {
            return Ok(());
        }
        if let Pipeline::Bus(bus) = &self.pipeline {
            let events: Vec<BusEvent> = receipt
                .unpublished
                .iter()
                .map(|e| BusEvent::new(user_id, e))
                .collect();
            bus.publish(&events).await?;
        }
        receipt.unpublished.clear();
        if !saved_later {
            self.receipts.save_progress(user_id, receipt).await?;
        }
        Ok(())
    }

    /// Generates and shows the model's answer, then records it as the session's next message in
    /// the same write that marks the reply sent, so it is recorded once.
    async fn answer(
        &self,
        receipt: &mut Receipt,
        question: Question<'_>,
    ) -> Result<(), HandleError> {
        let user_id = question.user_id;
        let ChatAnswers::ByModel(answerer) = &self.answers else {
            // Configuration changed since the decision: say so instead of answering.
            let text = replies::answer_failed(&AnswerFailure::Unreachable);
            self.deliver(receipt, &Reply::text(text)).await?;
            receipt.replies_sent += 1;
            self.receipts.save_progress(user_id, receipt).await?;
            return Ok(());
        };
        let ports = AnswerPorts {
            telegram: self.telegram.as_ref(),
            rows: self.rows.as_ref(),
            receipts: self.receipts.as_ref(),
        };
        let (generated, stats, usage) = answerer.answer(ports, question, receipt).await?;
        if let Some(usage) = usage {
            // Charged to whoever asked (in a group, the member).
            let asker = if receipt.asked_by != 0 {
                receipt.asked_by
            } else {
                user_id
            };
            charge_tokens(self.quotas.as_ref(), asker, usage.total(), self.clock.now()).await;
        }
        tracing::info!(
            user_id,
            update_id = receipt.update_id,
            tokens = usage.map(TokenUsage::total),
            complete = matches!(generated, Generated::Complete(_)),
            sends = stats.sends,
            edits = stats.edits,
            "answer shown"
        );
        match generated {
            Generated::Complete(text) if !text.trim().is_empty() => {
                self.record_answer(user_id, receipt, question, text, usage)
                    .await
            }
            _ => {
                receipt.replies_sent += 1;
                self.receipts.save_progress(user_id, receipt).await?;
                Ok(())
            }
        }
    }

    /// Appends the answer as the session's next message (or in the place of the answer it
    /// replaces), with the receipt marking it sent.
    async fn record_answer(
        &self,
        user_id: i64,
        receipt: &mut Receipt,
        question: Question<'_>,
        text: String,
        usage: Option<TokenUsage>,
    ) -> Result<(), HandleError> {
        let session_id = question.session_id;
        let sent: &Receipt = receipt;
        let text = &text;
        let recorded_receipt = with_conflict_retry(user_id, || async move {
            let state = self.store.load(user_id).await?;
            let mut next_receipt = sent.clone();
            next_receipt.replies_sent += 1;
            let Some(session) = state.session(session_id) else {
                // Archived while the model wrote: the answer was shown, the session is gone.
                self.receipts.save_progress(user_id, &next_receipt).await?;
                return Ok(next_receipt);
            };
            let (content, ts) = (text.clone(), self.clock.now());
            let event = match question.replaces {
                Some(seq) if seq <= session.message_count => Event::AnswerReplaced {
                    session_id,
                    seq,
                    content,
                    ts,
                    usage,
                },
                _ => Event::MessagePosted {
                    session_id,
                    role: Role::Assistant,
                    content,
                    ts,
                    usage,
                    image: None,
                },
            };
            let recorded = record(user_id, &state, vec![event], sent.update_id);
            self.append_with_receipt(user_id, state.version, recorded, next_receipt)
                .await
        })
        .await?;
        *receipt = recorded_receipt;
        Ok(())
    }

    /// Appends events the runner records itself (an answer, a restore's messages) with the
    /// receipt as `receipt`, their events left to publish when a bus carries them.
    async fn append_with_receipt(
        &self,
        user_id: i64,
        expected_version: u64,
        recorded: Recorded,
        mut receipt: Receipt,
    ) -> Result<Receipt, HandleError> {
        if let Pipeline::Bus(_) = self.pipeline {
            receipt.unpublished.extend(recorded.events.iter().cloned());
        }
        let write = ReceiptWrite::Update(receipt.clone());
        self.store
            .append(Append::of(user_id, expected_version, recorded, write))
            .await?;
        Ok(receipt)
    }
}
