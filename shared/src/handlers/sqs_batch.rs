//! The command role fed by SQS (FIFO): each record's body is one raw update, parsed on its own.
//!
//! - Chats are handled at once: the records of each message group (a chat) one after another,
//!   in order, and the groups side by side, so one chat's slow answer never holds another's.
//! - A body that is not JSON, or not an update, can never succeed: it is logged and acknowledged
//!   so it does not block its chat's message group.
//! - A failure that may pass (AWS or Telegram unavailable, a lease held elsewhere) is reported in
//!   `batchItemFailures` (`ReportBatchItemFailures`), and so is every later record of its group:
//!   on a FIFO queue, later messages must not overtake the one that failed. After a failure no
//!   record of any group is started; all that were not handled are reported (AWS's rule for FIFO
//!   batches: stop at the first failure, return the failed and the unprocessed).
//! - Records not started before the invocation's last seconds are handed back the same way, so
//!   a batch of slow answers never times the whole invocation out.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
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
    let records: Vec<Queued> = event
        .records
        .iter()
        .filter_map(|record| {
            let Some(message_id) = record.message_id.as_deref() else {
                tracing::error!("an SQS record without a message id was skipped");
                return None;
            };
            Some(Queued {
                message_id,
                group: record
                    .attributes
                    .get("MessageGroupId")
                    .map_or("", String::as_str),
                body: record.body.as_deref().unwrap_or_default(),
            })
        })
        .collect();
    let handled = handle_in_groups(&records, deadline, |record| async move {
        handle_record(handler, record.message_id, record.body, deadline).await
    })
    .await;
    let mut response = SqsBatchResponse::default();
    for (record, handled) in records.iter().zip(handled) {
        if !handled {
            response.add_failure(record.message_id);
        }
    }
    response
}

/// One record of a batch, as far as the order of handling goes.
#[derive(Debug, Clone, Copy)]
pub struct Queued<'a> {
    pub message_id: &'a str,
    /// Its message group (the chat); records without one share a group.
    pub group: &'a str,
    pub body: &'a str,
}

/// Handles `records` with `handle`, each group in order and the groups at once; which records
/// were handled (the others go back to the queue).
pub async fn handle_in_groups<'a, F, Fut>(
    records: &[Queued<'a>],
    deadline: Option<Instant>,
    handle: F,
) -> Vec<bool>
where
    F: Fn(Queued<'a>) -> Fut,
    Fut: Future<Output = Result<RecordDone, HandleError>>,
{
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    for (index, record) in records.iter().enumerate() {
        match groups.iter_mut().find(|(group, _)| *group == record.group) {
            Some((_, members)) => members.push(index),
            None => groups.push((record.group, vec![index])),
        }
    }
    let stop = AtomicBool::new(false);
    let handled: Vec<Vec<usize>> = futures::future::join_all(groups.iter().map(
        |(_, members)| {
            let (stop, handle) = (&stop, &handle);
            async move {
                let mut handled = Vec::new();
                for &index in members {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let record = records[index];
                    if deadline.is_some_and(|d| {
                        d.saturating_duration_since(Instant::now()) < MIN_TIME_FOR_A_RECORD
                    }) {
                        tracing::info!(
                            message_id = record.message_id,
                            "too little time left; this record and the rest go back to the queue"
                        );
                        stop.store(true, Ordering::Relaxed);
                        break;
                    }
                    match handle(record).await {
                        Ok(_) => handled.push(index),
                        Err(error) => {
                            tracing::warn!(message_id = record.message_id, %error, "record failed; it and the records after it will be redelivered");
                            stop.store(true, Ordering::Relaxed);
                            break;
                        }
                    }
                }
                handled
            }
        },
    ))
    .await;
    let mut done = vec![false; records.len()];
    for index in handled.into_iter().flatten() {
        done[index] = true;
    }
    done
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    fn batch<'a>(records: &[(&'a str, &'a str)]) -> Vec<Queued<'a>> {
        records
            .iter()
            .map(|(message_id, group)| Queued {
                message_id,
                group,
                body: "",
            })
            .collect()
    }

    /// Handles each record in a few milliseconds (of paused time), failing those named in
    /// `failing`; returns which were handled, the order they started in, and the most at once.
    async fn run(records: &[Queued<'_>], failing: &[&str]) -> (Vec<bool>, Vec<String>, usize) {
        let started = Mutex::new(Vec::new());
        let at_once = Mutex::new((0usize, 0usize));
        let handled = handle_in_groups(records, None, |record| {
            let (started, at_once) = (&started, &at_once);
            async move {
                started.lock().unwrap().push(record.message_id.to_string());
                {
                    let mut at_once = at_once.lock().unwrap();
                    at_once.0 += 1;
                    at_once.1 = at_once.1.max(at_once.0);
                }
                if failing.contains(&record.message_id) {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    at_once.lock().unwrap().0 -= 1;
                    return Err(HandleError::InProgress { update_id: 1 });
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                at_once.lock().unwrap().0 -= 1;
                Ok(RecordDone::Handled)
            }
        })
        .await;
        let most = at_once.lock().unwrap().1;
        (handled, started.into_inner().unwrap(), most)
    }

    #[tokio::test(start_paused = true)]
    async fn chats_are_handled_at_once_and_each_chat_in_order() {
        let records = batch(&[
            ("a1", "a"),
            ("b1", "b"),
            ("a2", "a"),
            ("c1", "c"),
            ("b2", "b"),
        ]);
        let (handled, started, most) = run(&records, &[]).await;
        assert_eq!(handled, [true; 5]);
        assert_eq!(most, 3, "the three chats at once");
        let position = |id: &str| started.iter().position(|s| s == id).unwrap();
        assert!(position("a1") < position("a2") && position("b1") < position("b2"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_hands_back_its_chats_later_records_and_all_not_started() {
        let records = batch(&[
            ("a1", "a"),
            ("b1", "b"),
            ("a2", "a"),
            ("b2", "b"),
            ("c1", "c"),
        ]);
        let (handled, started, _) = run(&records, &["a1"]).await;
        // b1 and c1 had started with a1; after a1 failed nothing more started.
        assert_eq!(handled, [false, true, false, false, true]);
        assert!(!started.contains(&"a2".to_string()) && !started.contains(&"b2".to_string()));
    }

    #[tokio::test(start_paused = true)]
    async fn records_without_a_group_keep_their_order() {
        let records = batch(&[("x1", ""), ("x2", ""), ("x3", "")]);
        let (handled, started, most) = run(&records, &["x2"]).await;
        assert_eq!(handled, [true, false, false]);
        assert_eq!((started, most), (vec!["x1".into(), "x2".into()], 1));
    }
}
