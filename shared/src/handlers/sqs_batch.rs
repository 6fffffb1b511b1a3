//! The command role fed by SQS (FIFO): each record's body is one raw update, parsed on its own.
//!
//! - A body that is not JSON, or not an update, can never succeed: it is logged and acknowledged
//!   so it does not block its chat's message group.
//! - A failure that may pass (AWS or Telegram unavailable, a lease held elsewhere) is reported in
//!   `batchItemFailures` (`ReportBatchItemFailures`), and so is every record after it: on a FIFO
//!   queue, later messages must not overtake the one that failed.
//! - Records not started before the invocation's last seconds are handed back the same way, so
//!   a batch of slow answers never times the whole invocation out.

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use tokio::time::Instant;

use super::command::CommandHandler;
use super::error::HandleError;
use crate::domain::update_text::{for_log, read_update};

/// A record is not started with less time than this left before the deadline.
pub const MIN_TIME_FOR_A_RECORD: Duration = Duration::from_secs(15);

pub async fn handle_batch(handler: &CommandHandler, event: &SqsEvent) -> SqsBatchResponse {
    handle_batch_until(handler, event, None).await
}

/// Handles the batch within `deadline` (the invocation's end).
pub async fn handle_batch_until(
    handler: &CommandHandler,
    event: &SqsEvent,
    deadline: Option<Instant>,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    let mut failed = false;
    for record in &event.records {
        let Some(message_id) = record.message_id.as_deref() else {
            tracing::error!("an SQS record without a message id was skipped");
            continue;
        };
        if !failed
            && deadline.is_some_and(|d| {
                d.saturating_duration_since(Instant::now()) < MIN_TIME_FOR_A_RECORD
            })
        {
            tracing::info!(
                message_id,
                "too little time left; this record and the rest go back to the queue"
            );
            failed = true;
        }
        if failed {
            response.add_failure(message_id);
            continue;
        }
        let body = record.body.as_deref().unwrap_or_default();
        if let Err(error) = handle_record(handler, message_id, body, deadline).await {
            tracing::warn!(message_id, %error, "record failed; it and the records after it will be redelivered");
            response.add_failure(message_id);
            failed = true;
        }
    }
    response
}

/// What became of one queued body that needs no redelivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordDone {
    Handled,
    /// It can never succeed (not an update, or a failure that retrying cannot mend); the reason.
    /// The one-process queue keeps such bodies in its dead letters; in Lambda the log line is
    /// the record (with the body, bounded).
    Dropped(String),
}

/// Handles one queued body (a raw update): `Ok` when it is done with (handled, or dropped because
/// it can never succeed), `Err` with a failure that may pass, so the body must be redelivered.
pub async fn handle_record(
    handler: &CommandHandler,
    message_id: &str,
    body: &str,
    deadline: Option<Instant>,
) -> Result<RecordDone, HandleError> {
    let read = match read_update(body) {
        Ok(read) => read,
        Err(error) => {
            tracing::error!(message_id, update_id = error.update_id, %error, body = for_log(body), bytes = body.len(), "a body that cannot be read was dropped");
            return Ok(RecordDone::Dropped(error.to_string()));
        }
    };
    if read.mended {
        tracing::warn!(
            message_id,
            "an update held a lone UTF-16 surrogate escape; it was read as U+FFFD"
        );
    }
    match handler.handle_until(&read.update, deadline).await {
        Ok(outcome) => {
            tracing::info!(message_id, ?outcome, "record handled");
            Ok(RecordDone::Handled)
        }
        Err(error) if !error.is_retryable() => {
            tracing::error!(message_id, %error, body = for_log(body), "a record that can never succeed was dropped");
            Ok(RecordDone::Dropped(error.to_string()))
        }
        Err(error) => Err(error),
    }
}
