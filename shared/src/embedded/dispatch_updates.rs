//! The command role on the embedded update queue: up to `workers` chats at once, each chat's
//! updates one at a time in order, every update acknowledged only once handled.
//!
//! Fairness: chat messages the model answers (seconds each) may hold at most `answer_workers`
//! workers, so commands always find one free, and one user at most `answers_per_user` of them;
//! a chat whose next update must wait for that is passed over, not blocking the others.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::dead_letters::{DeadLetters, Which};
use super::retry::{AfterFailure, Backoff, RetryPolicy};
use crate::domain::update::Lane;
use crate::handlers::CommandHandler;
use crate::handlers::sqs_batch::{RecordDone, handle_record};
use crate::queue::sqlite::{Delivery, SqliteQueue};
use crate::sqlite::now_ms;
use crate::sqlite::spool::SpoolError;

/// How often an idle dispatcher looks at the queue anyway (entries put back by `cloud-ai
/// redrive` from another process).
const IDLE_LOOK: Duration = Duration::from_secs(30);

pub struct UpdateDispatcher {
    pub queue: SqliteQueue,
    pub handler: CommandHandler,
    pub workers: usize,
    /// The most workers answering chat messages at once (the rest are kept for commands).
    pub answer_workers: usize,
    /// The most answers one user may have being written at once.
    pub answers_per_user: usize,
    pub retry: RetryPolicy,
    pub dead_letters: DeadLetters,
}

/// How many chats beyond the free workers one look at the queue may pass over.
const PASS_OVER_PAGE: usize = 256;

/// The shortest time between two automatic replays of the dead letters.
const REPLAY_EVERY: Duration = Duration::from_secs(60);

type Finished = Result<RecordDone, Failed>;

/// A try that failed: its error, and whether storage itself failed (then everyone pauses).
struct Failed {
    error: String,
    storage_trouble: bool,
}

/// What settling an update did with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settled {
    Done,
    /// Moved to the dead letters for a failure that may pass: worth replaying later.
    DeadLettered,
}

impl UpdateDispatcher {
    /// Runs until `stop` turns true, then waits for the updates being handled (the caller bounds
    /// that wait; what it cuts short is handed out again on the next start).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let arrivals = self.queue.arrivals();
        let mut busy: HashSet<String> = HashSet::new();
        let mut running: HashMap<tokio::task::Id, (Delivery, Lane)> = HashMap::new();
        let mut answers = Answers::default();
        let mut tasks: JoinSet<Finished> = JoinSet::new();
        let mut trouble = Backoff::default();
        let mut last_replay: Option<tokio::time::Instant> = None;
        // Whether dead letters may wait to be replayed (an earlier run's, or this one's).
        let mut dead_waiting = match self.dead_letters.count().await {
            Ok(count) if count.total() > 0 => {
                tracing::warn!(
                    retryable = count.retryable,
                    permanent = count.permanent,
                    "dead letters are waiting: the retryable ones are replayed once updates are handled again; `cloud-ai redrive` replays them all"
                );
                count.retryable > 0
            }
            Ok(_) => false,
            Err(_) => true,
        };
        loop {
            let stopping = *stop.borrow();
            let mut next_due_ms = Some(now_ms() + IDLE_LOOK.as_millis() as i64);
            if let Some(left) = trouble.pause_left() {
                next_due_ms = Some(now_ms() + left.as_millis() as i64);
            } else if !stopping && tasks.len() < self.workers {
                // Ask again until nothing more can start: each round starts or passes over
                // every chat it is given, and passed-over chats are not given again.
                loop {
                    let free = self.workers - tasks.len();
                    if free == 0 {
                        break;
                    }
                    let skip: HashSet<String> = busy.union(&answers.held).cloned().collect();
                    // Past the free workers, a page more: chats passed over do not cost a scan
                    // of the queue each (a flood of answers can pass over hundreds).
                    let ready = match self.queue.ready(&skip, free + PASS_OVER_PAGE).await {
                        Ok(ready) => ready,
                        Err(error) => {
                            let pause = trouble.failed();
                            tracing::error!(%error, pause_ms = pause.as_millis() as u64, "the update queue cannot be read; trying again after a pause");
                            next_due_ms = Some(now_ms() + pause.as_millis() as i64);
                            break;
                        }
                    };
                    if let Some(due) = ready.next_due_ms {
                        next_due_ms = next_due_ms.map(|n| n.min(due));
                    }
                    if ready.deliveries.is_empty() {
                        break;
                    }
                    for delivery in ready.deliveries {
                        if tasks.len() >= self.workers {
                            break;
                        }
                        let lane = Lane::of(&delivery.body);
                        if !answers.may_start(lane, self.answer_workers, self.answers_per_user) {
                            answers.held.insert(delivery.group_id.clone());
                            continue;
                        }
                        answers.started(lane);
                        busy.insert(delivery.group_id.clone());
                        let handler = self.handler.clone();
                        let work = delivery.clone();
                        let id = tasks
                            .spawn(async move {
                                let name = format!("update {}", work.update_id);
                                handle_record(&handler, &name, &work.body, None)
                                    .await
                                    .map_err(|e| Failed {
                                        storage_trouble: e.is_storage_trouble(),
                                        error: e.to_string(),
                                    })
                            })
                            .id();
                        running.insert(id, (delivery, lane));
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
                        Err(error) => (error.id(), Err(Failed { error: format!("the handler panicked: {error}"), storage_trouble: false })),
                    };
                    if let Some((delivery, lane)) = running.remove(&id) {
                        busy.remove(&delivery.group_id);
                        answers.finished(lane);
                        let handled = matches!(finished, Ok(RecordDone::Handled));
                        let storage_trouble =
                            matches!(&finished, Err(failed) if failed.storage_trouble);
                        match self.settle(&delivery, finished).await {
                            Ok(settled) => {
                                dead_waiting |= settled == Settled::DeadLettered;
                                if storage_trouble {
                                    // DynamoDB throttled or S3 out: the other chats would meet it too.
                                    let pause = trouble.failed();
                                    tracing::warn!(pause_ms = pause.as_millis() as u64, "storage is failing; nothing is handed out for a pause");
                                } else if trouble.succeeded() {
                                    tracing::info!("the update queue records outcomes again");
                                }
                                // Updates are handled again (Telegram answers): replay what an
                                // outage sent to the dead letters.
                                if handled
                                    && dead_waiting
                                    && last_replay.is_none_or(|at| at.elapsed() >= REPLAY_EVERY)
                                {
                                    last_replay = Some(tokio::time::Instant::now());
                                    dead_waiting = false;
                                    self.replay_dead_letters().await;
                                }
                            }
                            Err(error) => {
                                // Nothing can be recorded (a full disk): hand nothing out for a
                                // while, rather than fail the same update again at once.
                                let pause = trouble.failed();
                                tracing::error!(%error, update_id = delivery.update_id, pause_ms = pause.as_millis() as u64, "the update queue could not record an outcome; the update will be handled again after a pause");
                            }
                        }
                    }
                }
                _ = arrivals.notified(), if !stopping => {}
                _ = sleep_until(wake_at), if !stopping => {}
                changed = stop.changed(), if !stopping => {
                    if changed.is_err() {
                        return; // The process is going away.
                    }
                }
            }
        }
    }

    async fn replay_dead_letters(&self) {
        match self.dead_letters.redrive(Which::Retryable).await {
            Ok(done) if done.updates + done.events > 0 => tracing::info!(
                updates = done.updates,
                events = done.events,
                "updates are handled again: dead letters were put back to be tried again"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "the dead letters could not be replayed"),
        }
    }

    /// Says how many dead letters wait, after one more was added.
    async fn report_dead_letters(&self) {
        if let Ok(count) = self.dead_letters.count().await {
            tracing::error!(
                dead_letters = count.total(),
                "dead letters are waiting; replay them with `cloud-ai redrive`"
            );
        }
    }

    async fn settle(&self, delivery: &Delivery, finished: Finished) -> Result<Settled, SpoolError> {
        let error = match finished {
            Ok(RecordDone::Handled) => {
                self.queue.entries().acknowledge(delivery.seq).await?;
                return Ok(Settled::Done);
            }
            // Kept with its reason, for an operator to look at and replay (`cloud-ai redrive`).
            Ok(RecordDone::Dropped(reason)) => {
                self.queue
                    .entries()
                    .dead_letter_for_good(delivery.seq, reason)
                    .await?;
                self.report_dead_letters().await;
                return Ok(Settled::Done);
            }
            Err(failed) => failed.error,
        };
        match self.retry.after_failure(delivery.attempts) {
            AfterFailure::RetryIn(wait) => {
                tracing::warn!(update_id = delivery.update_id, %error, attempt = delivery.attempts + 1, retry_in_ms = wait.as_millis() as u64, "update failed; its chat waits for the retry");
                self.queue
                    .entries()
                    .retry_later(delivery.seq, now_ms() + wait.as_millis() as i64, error)
                    .await?;
                Ok(Settled::Done)
            }
            AfterFailure::GiveUp => {
                tracing::error!(update_id = delivery.update_id, %error, attempts = delivery.attempts + 1, "update failed too often; moved to the dead letters");
                self.queue
                    .entries()
                    .dead_letter(delivery.seq, error)
                    .await?;
                self.report_dead_letters().await;
                Ok(Settled::DeadLettered)
            }
        }
    }
}

/// The answers being written, and the chats passed over because theirs must wait.
#[derive(Default)]
struct Answers {
    running: usize,
    per_user: HashMap<i64, usize>,
    /// Chats whose next update is an answer that cannot start yet; looked at again when an
    /// answer finishes.
    held: HashSet<String>,
}

impl Answers {
    fn may_start(&self, lane: Lane, answer_workers: usize, per_user: usize) -> bool {
        match lane {
            Lane::Quick => true,
            Lane::Answer { sender } => {
                self.running < answer_workers
                    && self.per_user.get(&sender).copied().unwrap_or(0) < per_user
            }
        }
    }

    fn started(&mut self, lane: Lane) {
        if let Lane::Answer { sender } = lane {
            self.running += 1;
            *self.per_user.entry(sender).or_default() += 1;
        }
    }

    fn finished(&mut self, lane: Lane) {
        if let Lane::Answer { sender } = lane {
            self.running -= 1;
            if let Some(count) = self.per_user.get_mut(&sender) {
                *count -= 1;
                if *count == 0 {
                    self.per_user.remove(&sender);
                }
            }
            self.held.clear();
        }
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_capped_overall_and_per_user_and_commands_never() {
        let mut answers = Answers::default();
        let ada = Lane::Answer { sender: 1 };
        let bob = Lane::Answer { sender: 2 };
        // Three answer workers, two answers per user.
        assert!(answers.may_start(ada, 3, 2));
        answers.started(ada);
        answers.started(ada);
        assert!(!answers.may_start(ada, 3, 2), "Ada's third waits");
        assert!(answers.may_start(bob, 3, 2));
        answers.started(bob);
        assert!(!answers.may_start(bob, 3, 2), "every answer worker is busy");
        assert!(answers.may_start(Lane::Quick, 3, 2), "commands always may");
        answers.held.insert("chat".into());
        answers.finished(ada);
        assert!(answers.held.is_empty(), "held chats are looked at again");
        assert!(answers.may_start(ada, 3, 2));
    }
}
