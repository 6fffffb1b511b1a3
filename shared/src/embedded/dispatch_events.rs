//! The archiver role on the embedded event bus: each `Archived` event, oldest first, finishes the
//! update that archived its session (the archive, the live rows, then the confirmation).

use std::time::Duration;

use tokio::sync::watch;

use super::retry::{AfterFailure, Backoff, RetryPolicy};
use crate::bus::sqlite::{BusDelivery, NextEvent, SqliteBus};
use crate::handlers::CommandHandler;
use crate::handlers::archive_event::handle_bus_event;
use crate::sqlite::now_ms;
use crate::sqlite::spool::SpoolError;

pub struct EventDispatcher {
    pub bus: SqliteBus,
    /// Built without a bus, so that it runs archive jobs itself.
    pub archiver: CommandHandler,
    pub retry: RetryPolicy,
}

impl EventDispatcher {
    /// Runs until `stop` turns true; an event being handled is finished first (the caller bounds
    /// that wait; what it cuts short is delivered again on the next start).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let arrivals = self.bus.arrivals();
        let mut trouble = Backoff::default();
        loop {
            if *stop.borrow() {
                return;
            }
            let wait = match self.bus.next().await {
                Ok(NextEvent::Ready(delivery)) => match self.handle(&delivery).await {
                    Ok(()) => {
                        if trouble.succeeded() {
                            tracing::info!("the event bus records outcomes again");
                        }
                        continue;
                    }
                    Err(error) => {
                        let pause = trouble.failed();
                        tracing::error!(%error, pause_ms = pause.as_millis() as u64, "the event bus could not record an outcome; the event will be handled again after a pause");
                        Some(pause)
                    }
                },
                Ok(NextEvent::DueAt(ms)) => Some(Duration::from_millis(
                    ms.saturating_sub(now_ms()).max(0) as u64,
                )),
                // Looked at again after a while: `cloud-ai redrive` may put events back.
                Ok(NextEvent::Empty) => Some(Duration::from_secs(30)),
                Err(error) => {
                    let pause = trouble.failed();
                    tracing::error!(%error, pause_ms = pause.as_millis() as u64, "the event bus cannot be read; trying again after a pause");
                    Some(pause)
                }
            };
            let sleep = async {
                match wait {
                    Some(wait) => tokio::time::sleep(wait).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = arrivals.notified() => {}
                _ = sleep => {}
                changed = stop.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
        }
    }

    async fn handle(&self, delivery: &BusDelivery) -> Result<(), SpoolError> {
        let event = &delivery.event;
        let error = match handle_bus_event(&self.archiver, event).await {
            Ok(outcome) => {
                tracing::info!(
                    user_id = event.user_id,
                    update_id = event.update_id,
                    ?outcome,
                    "archive event handled"
                );
                return self.bus.entries().acknowledge(delivery.seq).await;
            }
            Err(error) if !error.is_retryable() => {
                tracing::error!(%error, "an archive event that can never succeed was dropped");
                return self
                    .bus
                    .entries()
                    .dead_letter_for_good(delivery.seq, error.to_string())
                    .await;
            }
            Err(error) => error.to_string(),
        };
        match self.retry.after_failure(delivery.attempts) {
            AfterFailure::RetryIn(wait) => {
                tracing::warn!(user_id = event.user_id, update_id = event.update_id, %error, retry_in_ms = wait.as_millis() as u64, "archive event failed; retrying later");
                self.bus
                    .entries()
                    .retry_later(delivery.seq, now_ms() + wait.as_millis() as i64, error)
                    .await
            }
            AfterFailure::GiveUp => {
                tracing::error!(user_id = event.user_id, update_id = event.update_id, %error, "archive event failed too often; moved to the dead letters");
                self.bus.entries().dead_letter(delivery.seq, error).await
            }
        }
    }
}
