//! The update queue of the one-process bot, in the embedded database: what SQS FIFO gives the
//! cloud path, kept on disk.
//!
//! - Deduplicated by update id (a re-polled update is not queued twice while it waits).
//! - Ordered per message group (chat): only the oldest entry of a group is handed out, and only
//!   when no other entry of that group is being handled.
//! - At least once: an entry leaves the queue when its handling is acknowledged; after a crash
//!   everything still queued is handed out again (the handler's receipts make that harmless).

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::BackendError;
use rusqlite::params;
use tokio::sync::Notify;

use super::{QueueError, QueuedUpdate, SendOutcome, UpdateQueue};
use crate::sqlite::spool::{Spool, SpoolEntries};
use crate::sqlite::{Database, now_ms};

/// One queued update handed out for handling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The entry's place in the queue (what acknowledges it).
    pub seq: i64,
    pub update_id: i64,
    pub group_id: String,
    pub body: String,
    /// Failed tries so far.
    pub attempts: u32,
}

/// What is ready now, and when the next held-back entry is due.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ready {
    pub deliveries: Vec<Delivery>,
    /// The earliest `not_before` (Unix ms) of a group head held back by an earlier failure.
    pub next_due_ms: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct SqliteQueue {
    db: Database,
    entries: SpoolEntries,
    arrivals: Arc<Notify>,
}

fn backend(error: rusqlite::Error) -> QueueError {
    BackendError::sqlite("SQLite", error).into()
}

impl SqliteQueue {
    pub fn new(db: Database) -> SqliteQueue {
        SqliteQueue {
            entries: SpoolEntries::new(db.clone(), Spool::Updates),
            db,
            arrivals: Arc::new(Notify::new()),
        }
    }

    /// Notified whenever updates are queued.
    pub fn arrivals(&self) -> Arc<Notify> {
        self.arrivals.clone()
    }

    /// The head of every group not in `busy`, oldest first, at most `limit`, if due.
    pub async fn ready(&self, busy: &HashSet<String>, limit: usize) -> Result<Ready, QueueError> {
        let busy = busy.clone();
        self.db
            .call(move |conn| {
                let mut statement = conn.prepare_cached(
                    "SELECT q.seq, q.update_id, q.group_id, q.body, q.attempts, q.not_before_ms
                     FROM update_queue q
                     JOIN (SELECT group_id, MIN(seq) AS head FROM update_queue GROUP BY group_id) h
                       ON q.seq = h.head
                     ORDER BY q.seq",
                )?;
                let now = now_ms();
                let mut ready = Ready::default();
                let mut rows = statement.query([])?;
                while let Some(row) = rows.next()? {
                    let group_id: String = row.get(2)?;
                    if busy.contains(&group_id) {
                        continue;
                    }
                    let not_before: i64 = row.get(5)?;
                    if not_before > now {
                        ready.next_due_ms =
                            Some(ready.next_due_ms.map_or(not_before, |t| t.min(not_before)));
                        continue;
                    }
                    if ready.deliveries.len() < limit {
                        ready.deliveries.push(Delivery {
                            seq: row.get(0)?,
                            update_id: row.get(1)?,
                            group_id,
                            body: row.get(3)?,
                            attempts: row.get(4)?,
                        });
                    }
                }
                Ok(ready)
            })
            .await
            .map_err(backend)
    }

    /// Acknowledging, retrying and dead-lettering handed-out updates.
    pub fn entries(&self) -> &SpoolEntries {
        &self.entries
    }
}

#[async_trait]
impl UpdateQueue for SqliteQueue {
    async fn send(&self, updates: &[QueuedUpdate]) -> Result<SendOutcome, QueueError> {
        let updates = updates.to_vec();
        let outcome = self
            .db
            .call(move |conn| {
                let tx = conn.savepoint()?;
                {
                    let mut insert = tx.prepare_cached(
                        "INSERT OR IGNORE INTO update_queue (update_id, group_id, body)
                         VALUES (?1, ?2, ?3)",
                    )?;
                    for update in &updates {
                        insert.execute(params![update.update_id, update.group_id, update.body])?;
                    }
                }
                tx.commit()?;
                Ok(SendOutcome {
                    accepted: updates.iter().map(|u| u.update_id).collect(),
                    rejected: Vec::new(),
                })
            })
            .await
            .map_err(backend)?;
        self.arrivals.notify_one();
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(update_id: i64, group: &str) -> QueuedUpdate {
        QueuedUpdate {
            update_id,
            group_id: group.into(),
            body: format!("{{\"update_id\":{update_id}}}"),
        }
    }

    fn ids(ready: &Ready) -> Vec<i64> {
        ready.deliveries.iter().map(|d| d.update_id).collect()
    }

    #[tokio::test]
    async fn each_chat_is_served_in_order_one_update_at_a_time() {
        let queue = SqliteQueue::new(Database::in_memory());
        let batch = [
            update(1, "a"),
            update(2, "b"),
            update(3, "a"),
            update(1, "a"),
        ];
        queue.send(&batch).await.unwrap();
        assert_eq!(
            queue.entries().waiting().await.unwrap(),
            3,
            "update 1 was queued once"
        );
        let ready = queue.ready(&HashSet::new(), 10).await.unwrap();
        assert_eq!(ids(&ready), [1, 2], "only each group's head");
        let busy = HashSet::from(["a".to_string()]);
        assert_eq!(ids(&queue.ready(&busy, 10).await.unwrap()), [2]);
        queue
            .entries()
            .acknowledge(ready.deliveries[0].seq)
            .await
            .unwrap();
        assert_eq!(
            ids(&queue.ready(&HashSet::new(), 10).await.unwrap()),
            [2, 3]
        );
        assert_eq!(ids(&queue.ready(&HashSet::new(), 1).await.unwrap()), [2]);
    }

    #[tokio::test]
    async fn a_failed_update_holds_its_chat_back_until_due_then_can_be_dead_lettered() {
        let queue = SqliteQueue::new(Database::in_memory());
        queue
            .send(&[update(1, "a"), update(2, "a"), update(3, "b")])
            .await
            .unwrap();
        let head = queue.ready(&HashSet::new(), 10).await.unwrap().deliveries[0].clone();
        let due = now_ms() + 60_000;
        queue
            .entries()
            .retry_later(head.seq, due, "Telegram is down".into())
            .await
            .unwrap();
        let ready = queue.ready(&HashSet::new(), 10).await.unwrap();
        assert_eq!(ids(&ready), [3], "chat a waits; chat b goes on");
        assert_eq!(ready.next_due_ms, Some(due));
        queue
            .entries()
            .dead_letter(head.seq, "gave up".into())
            .await
            .unwrap();
        let ready = queue.ready(&HashSet::new(), 10).await.unwrap();
        assert_eq!(ids(&ready), [2, 3]);
        assert_eq!(ready.deliveries[0].attempts, 0);
        let buried: (String, i64, String) = queue
            .db
            .call(|conn| {
                conn.query_row(
                    "SELECT body, attempts, last_error FROM dead_letters",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
            })
            .await
            .unwrap();
        assert_eq!(
            buried,
            ("{\"update_id\":1}".to_string(), 2, "gave up".to_string())
        );
    }
}
