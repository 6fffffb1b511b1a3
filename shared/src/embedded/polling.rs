//! The poller role, run without end: long-polls Telegram and queues each update, waiting longer
//! after each failure in a row. A token Telegram no longer accepts stops the bot.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::handlers::poller::{PollError, Poller};
use crate::telegram::TelegramError;

/// How long one run of the poller may last before it starts the next (it saves the offset as
/// it goes, so this only bounds a run).
const RUN_LENGTH: Duration = Duration::from_secs(60);
/// The longest pause between failed polls: a line per pause while Telegram or the disk is out,
/// and polling resumes within seconds of their return.
const LONGEST_PAUSE: Duration = Duration::from_secs(10);

/// Polls until `stop` turns true; returns the error that makes going on pointless.
pub async fn poll_until_stopped(
    poller: &Poller,
    mut stop: watch::Receiver<bool>,
) -> Result<(), PollError> {
    let mut failures_in_a_row = 0u32;
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let result = tokio::select! {
            result = poller.run(Instant::now() + RUN_LENGTH) => result,
            // Dropping a run between queueing and saving the offset only refetches updates,
            // which the queue and the receipts deduplicate.
            _ = stop.changed() => return Ok(()),
        };
        let error = match result {
            Ok(_) => {
                failures_in_a_row = 0;
                continue;
            }
            Err(error) if is_fatal(&error) => return Err(error),
            Err(error) => error,
        };
        let asked = match &error {
            PollError::Telegram(telegram) => telegram.retry_after(),
            _ => None,
        };
        let pause = asked
            .map(Duration::from_secs)
            .unwrap_or_else(|| Duration::from_secs(1 << failures_in_a_row.min(5)))
            .min(LONGEST_PAUSE);
        failures_in_a_row += 1;
        tracing::warn!(%error, pause_seconds = pause.as_secs(), "polling Telegram failed; trying again");
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => return Ok(()),
        }
    }
}

/// 401 (the token was revoked), 404 (no such bot) and 409 (a webhook is set) will not pass by
/// waiting. Another program polling the token may stop (it is told in each pause's line).
fn is_fatal(error: &PollError) -> bool {
    matches!(
        error,
        PollError::WebhookSet(_)
            | PollError::Telegram(TelegramError::Api {
                code: 401 | 404,
                ..
            })
    )
}
