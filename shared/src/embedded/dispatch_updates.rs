//! The command role on the embedded update queue: up to `workers` chats at once, each chat's
//! updates one at a time in order, every update acknowledged only once handled.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::retry::{AfterFailure, RetryPolicy};
use crate::handlers::CommandHandler;
use crate::handlers::sqs_batch::{RecordDone, handle_record};
use crate::queue::sqlite::{Delivery, SqliteQueue};
use crate::sqlite::now_ms;
use crate::sqlite::spool::SpoolError;

/// How long to wait before asking the queue again after it failed.
const QUEUE_TROUBLE_PAUSE: Duration = Duration::from_secs(1);

pub struct UpdateDispatcher {
    pub queue: SqliteQueue,
    pub handler: CommandHandler,
    pub workers: usize,
    pub retry: RetryPolicy,
}

type Finished = Result<RecordDone, String>;

impl UpdateDispatcher {
    /// Runs until `stop` turns true, then waits for the updates being handled (the caller bounds
    /// that wait; what it cuts short is handed out again on the next start).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let arrivals = self.queue.arrivals();
        let mut busy: HashSet<String> = HashSet::new();
        let mut running: HashMap<tokio::task::Id, Delivery> = HashMap::new();
        let mut tasks: JoinSet<Finished> = JoinSet::new();
        loop {
            let stopping = *stop.borrow();
            let mut next_due_ms = None;
            if !stopping && tasks.len() < self.workers {
                match self.queue.ready(&busy, self.workers - tasks.len()).await {
                    Ok(ready) => {
                        next_due_ms = ready.next_due_ms;
                        for delivery in ready.deliveries {
                            busy.insert(delivery.group_id.clone());
                            let handler = self.handler.clone();
                            let work = delivery.clone();
                            let id = tasks
                                .spawn(async move {
                                    let name = format!("update {}", work.update_id);
                                    handle_record(&handler, &name, &work.body, None)
                                        .await
                                        .map_err(|e| e.to_string())
                                })
                                .id();
                            running.insert(id, delivery);
                        }
                    }
                    Err(error) => {
                        tracing::error!(%error, "the update queue cannot be read; trying again");
                        next_due_ms = Some(now_ms() + QUEUE_TROUBLE_PAUSE.as_millis() as i64);
                    }
                }
            }
            if stopping && tasks.is_empty() {
                return;
            }
            let wake_at = next_due_ms.map(|ms| {
                tokio::time::Instant::now()
                    + Duration::from_millis(ms.saturating_sub(now_ms()).max(0) as u64)
            });
            tokio::select! {
                Some(joined) = tasks.join_next_with_id() => {
                    let (id, finished) = match joined {
                        Ok((id, finished)) => (id, finished),
                        Err(error) => (error.id(), Err(format!("the handler panicked: {error}"))),
                    };
                    if let Some(delivery) = running.remove(&id) {
                        busy.remove(&delivery.group_id);
                        if let Err(error) = self.settle(&delivery, finished).await {
                            tracing::error!(%error, update_id = delivery.update_id, "the update queue could not record an outcome; the update will be handled again");
                        }
                    }
                }
                _ = arrivals.notified(), if !stopping => {}
                _ = sleep_until(wake_at), if !stopping && wake_at.is_some() => {}
                changed = stop.changed(), if !stopping => {
                    if changed.is_err() {
                        return; // The process is going away.
                    }
                }
            }
        }
    }

    async fn settle(&self, delivery: &Delivery, finished: Finished) -> Result<(), SpoolError> {
        let error = match finished {
            Ok(RecordDone::Handled) => return self.queue.entries().acknowledge(delivery.seq).await,
            // Kept with its reason, for an operator to look at and replay (`cloud-ai redrive`).
            Ok(RecordDone::Dropped(reason)) => {
                return self.queue.entries().dead_letter(delivery.seq, reason).await;
            }
            Err(error) => error,
        };
        match self.retry.after_failure(delivery.attempts) {
            AfterFailure::RetryIn(wait) => {
                tracing::warn!(update_id = delivery.update_id, %error, attempt = delivery.attempts + 1, retry_in_ms = wait.as_millis() as u64, "update failed; its chat waits for the retry");
                self.queue
                    .entries()
                    .retry_later(delivery.seq, now_ms() + wait.as_millis() as i64, error)
                    .await
            }
            AfterFailure::GiveUp => {
                tracing::error!(update_id = delivery.update_id, %error, attempts = delivery.attempts + 1, "update failed too often; moved to the dead letters");
                self.queue.entries().dead_letter(delivery.seq, error).await
            }
        }
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
