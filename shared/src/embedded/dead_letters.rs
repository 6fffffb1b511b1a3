//! The one-process bot's dead letters: counted for the operator, and put back on the queue or the
//! bus they came from, by `cloud-ai redrive` (all of them) or by the bot itself once updates are
//! handled again after an outage (those that failed for a reason that may pass).

use rusqlite::{Connection, params};

use crate::bus::BusEvent;
use crate::domain::update_text::read_update;
use crate::queue::group_for;
use crate::sqlite::Database;

#[derive(Debug, thiserror::Error)]
#[error("the dead letters cannot be read or moved: SQLite: {0}")]
pub struct DeadLetterError(#[from] rusqlite::Error);

/// How many dead letters wait.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeadLetterCount {
    /// Failed too often for a reason that may pass (Telegram or the disk out for long).
    pub retryable: usize,
    /// Cannot succeed as they are (an update that cannot be read).
    pub permanent: usize,
}

impl DeadLetterCount {
    pub fn total(&self) -> usize {
        self.retryable + self.permanent
    }
}

/// Which dead letters to put back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    All,
    Retryable,
}

/// What a redrive did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Redriven {
    pub updates: usize,
    pub events: usize,
    /// Dead letters left where they were (their body no longer names where it goes).
    pub left: usize,
}

#[derive(Clone, Debug)]
pub struct DeadLetters {
    db: Database,
}

impl DeadLetters {
    pub fn new(db: Database) -> DeadLetters {
        DeadLetters { db }
    }

    pub async fn count(&self) -> Result<DeadLetterCount, DeadLetterError> {
        Ok(self
            .db
            .call(|conn| {
                conn.query_row(
                    "SELECT COALESCE(SUM(permanent = 0), 0), COALESCE(SUM(permanent != 0), 0)
                     FROM dead_letters",
                    [],
                    |row| {
                        Ok(DeadLetterCount {
                            retryable: row.get(0)?,
                            permanent: row.get(1)?,
                        })
                    },
                )
            })
            .await?)
    }

    /// Puts dead letters back where they came from, oldest first, in one transaction.
    pub async fn redrive(&self, which: Which) -> Result<Redriven, DeadLetterError> {
        Ok(self.db.call(move |conn| put_back(conn, which)).await?)
    }
}

fn put_back(conn: &mut Connection, which: Which) -> rusqlite::Result<Redriven> {
    let tx = conn.savepoint()?;
    let letters: Vec<(i64, String, String)> = {
        let mut select = tx.prepare(
            "SELECT id, source, body FROM dead_letters WHERE permanent = 0 OR ?1 ORDER BY id",
        )?;
        select
            .query_map([which == Which::All], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })?
            .collect::<rusqlite::Result<_>>()?
    };
    let mut done = Redriven::default();
    for (id, source, body) in letters {
        let put = match source.as_str() {
            "update_queue" => match read_update(&body) {
                Ok(read) => match read.update.get("update_id").and_then(|v| v.as_i64()) {
                    Some(update_id) => {
                        tx.execute(
                            "INSERT OR IGNORE INTO update_queue (update_id, group_id, body)
                             VALUES (?1, ?2, ?3)",
                            params![update_id, group_for(&read.update), body],
                        )?;
                        done.updates += 1;
                        true
                    }
                    None => false,
                },
                Err(_) => false,
            },
            "bus_events" => match serde_json::from_str::<BusEvent>(&body) {
                Ok(event) => {
                    tx.execute(
                        "INSERT OR IGNORE INTO bus_events (user_id, version, detail_type, detail)
                         VALUES (?1, ?2, ?3, ?4)",
                        params![event.user_id, event.version, event.detail_type(), body],
                    )?;
                    done.events += 1;
                    true
                }
                Err(_) => false,
            },
            _ => false,
        };
        if put {
            tx.execute("DELETE FROM dead_letters WHERE id = ?1", [id])?;
        } else {
            done.left += 1;
        }
    }
    tx.commit()?;
    Ok(done)
}
