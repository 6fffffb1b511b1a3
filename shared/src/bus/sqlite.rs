//! The event bus of the one-process bot, in the embedded database: what EventBridge and the
//! `Archived` rule give the cloud path, kept on disk.
//!
//! Publishing keeps the events a rule matches (as EventBridge drops events no rule matches) once
//! per stream position, so a re-publish after a crash is not delivered twice while it waits. The
//! consumer takes them oldest first and acknowledges each once handled; a crash redelivers.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::{BackendError, Retry};
use rusqlite::{OptionalExtension, params};
use tokio::sync::Notify;

use super::{BusError, BusEvent, EventBus};
use crate::sqlite::spool::{Spool, SpoolEntries};
use crate::sqlite::{Database, now_ms};

/// Which events the bus keeps for its consumer.
pub type Rule = fn(&BusEvent) -> bool;

/// The `Archived` rule of `terraform/events.tf`: the archiver role's input.
pub fn archived(event: &BusEvent) -> bool {
    event.detail_type() == "Archived"
}

/// One published event handed out for handling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusDelivery {
    pub seq: i64,
    pub event: BusEvent,
    pub attempts: u32,
}

/// The oldest event, or when the oldest held-back one is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextEvent {
    Ready(BusDelivery),
    /// Every waiting event failed lately; the first is due at this Unix ms.
    DueAt(i64),
    Empty,
}

#[derive(Clone)]
pub struct SqliteBus {
    db: Database,
    entries: SpoolEntries,
    rule: Rule,
    arrivals: Arc<Notify>,
}

fn backend(error: rusqlite::Error) -> BusError {
    BackendError::sqlite("SQLite", error).into()
}

impl SqliteBus {
    pub fn new(db: Database, rule: Rule) -> SqliteBus {
        SqliteBus {
            entries: SpoolEntries::new(db.clone(), Spool::Events),
            db,
            rule,
            arrivals: Arc::new(Notify::new()),
        }
    }

    /// Notified whenever events are kept.
    pub fn arrivals(&self) -> Arc<Notify> {
        self.arrivals.clone()
    }

    pub async fn next(&self) -> Result<NextEvent, BusError> {
        let row: Option<(i64, String, u32, i64)> = self
            .db
            .call(|conn| {
                conn.query_row(
                    "SELECT seq, detail, attempts, not_before_ms FROM bus_events
                     ORDER BY not_before_ms <= ?1 DESC, seq LIMIT 1",
                    [now_ms()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()
            })
            .await
            .map_err(backend)?;
        let Some((seq, detail, attempts, not_before_ms)) = row else {
            return Ok(NextEvent::Empty);
        };
        if not_before_ms > now_ms() {
            let earliest: i64 = self
                .db
                .call(|conn| {
                    conn.query_row("SELECT MIN(not_before_ms) FROM bus_events", [], |r| {
                        r.get(0)
                    })
                })
                .await
                .map_err(backend)?;
            return Ok(NextEvent::DueAt(earliest));
        }
        let event = serde_json::from_str(&detail).map_err(|e| {
            BackendError::new("an unreadable event on the bus", Retry::Permanent, e)
        })?;
        Ok(NextEvent::Ready(BusDelivery {
            seq,
            event,
            attempts,
        }))
    }

    /// Acknowledging, retrying and dead-lettering handed-out events.
    pub fn entries(&self) -> &SpoolEntries {
        &self.entries
    }
}

#[async_trait]
impl EventBus for SqliteBus {
    async fn publish(&self, events: &[BusEvent]) -> Result<(), BusError> {
        let kept: Vec<(i64, u64, &'static str, String)> = events
            .iter()
            .filter(|e| (self.rule)(e))
            .map(|e| {
                (
                    e.user_id,
                    e.version,
                    e.detail_type(),
                    serde_json::to_string(e).expect("events serialise to JSON"),
                )
            })
            .collect();
        if kept.is_empty() {
            return Ok(());
        }
        self.db
            .call(move |conn| {
                let tx = conn.savepoint()?;
                {
                    let mut insert = tx.prepare_cached(
                        "INSERT OR IGNORE INTO bus_events (user_id, version, detail_type, detail)
                         VALUES (?1, ?2, ?3, ?4)",
                    )?;
                    for (user_id, version, detail_type, detail) in &kept {
                        insert.execute(params![user_id, version, detail_type, detail])?;
                    }
                }
                tx.commit()
            })
            .await
            .map_err(backend)?;
        self.arrivals.notify_one();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::events::Event;

    fn event(version: u64, event: Event) -> BusEvent {
        BusEvent {
            user_id: 7,
            version,
            update_id: 100 + version as i64,
            event,
        }
    }

    #[tokio::test]
    async fn only_matching_events_are_kept_once_and_handed_out_in_order() {
        let bus = SqliteBus::new(Database::in_memory(), archived);
        let session_id = uuid::Uuid::new_v4();
        let archived_event = |version| {
            event(
                version,
                Event::Archived {
                    session_id,
                    s3_key: format!("archives/7/{session_id}.json"),
                    archived_at: "2026-11-25T00:00:00Z".into(),
                },
            )
        };
        let switched = event(1, Event::Switched { session_id });
        bus.publish(&[switched, archived_event(2)]).await.unwrap();
        bus.publish(&[archived_event(2), archived_event(3)])
            .await
            .unwrap();
        assert_eq!(bus.entries().waiting().await.unwrap(), 2);
        let NextEvent::Ready(first) = bus.next().await.unwrap() else {
            panic!("an event is ready")
        };
        assert_eq!(first.event, archived_event(2));
        bus.entries()
            .retry_later(first.seq, now_ms() + 60_000, "S3 is down".into())
            .await
            .unwrap();
        let NextEvent::Ready(second) = bus.next().await.unwrap() else {
            panic!("the next event is ready")
        };
        assert_eq!(
            second.event.version, 3,
            "a held-back event does not block the bus"
        );
        bus.entries().acknowledge(second.seq).await.unwrap();
        assert!(matches!(bus.next().await.unwrap(), NextEvent::DueAt(_)));
        bus.entries().acknowledge(first.seq).await.unwrap();
        assert_eq!(bus.next().await.unwrap(), NextEvent::Empty);
    }
}
