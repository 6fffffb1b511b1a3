//! The poller role: long-polls Telegram's `getUpdates` while time allows and queues each raw
//! update. The offset advances only past updates the queue accepted, so a queue failure loses
//! nothing: the same updates are fetched again next time (and deduplicated downstream).
//!
//! First run: with no stored offset, everything Telegram still holds (up to 24 hours of updates)
//! is processed, so messages sent while the bot was down are answered.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use serde_json::value::RawValue;

use crate::domain::update_text::for_log;
use crate::queue::{
    MAX_BATCH, MAX_BATCH_BYTES, NotAnUpdate, QueueError, QueuedUpdate, UpdateQueue,
};
use crate::store::{OffsetStore, StoreError};
use crate::telegram::{Telegram, TelegramError};

/// Telegram's most updates per `getUpdates`.
const UPDATES_PER_POLL: u32 = 100;

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    Telegram(TelegramError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the queue refused update {update_id}: {reason}")]
    Rejected { update_id: i64, reason: String },
    /// 409: Telegram refuses `getUpdates` while a webhook is set on the token.
    #[error(
        "a webhook is set for this bot, and Telegram refuses getUpdates while it is ({0}): remove it with the Bot API's deleteWebhook (https://api.telegram.org/bot<token>/deleteWebhook) and start again"
    )]
    WebhookSet(String),
    /// 409 for any other reason: another program's `getUpdates` on the same token cut this one
    /// off (the newer request wins), such as the original bot still running beside cloud-ai.
    #[error(
        "another program is polling this bot's token, and Telegram serves each update to one of them ({0}): stop the other one (the original bot, an older cloud-ai, a second deployment) so that every update reaches cloud-ai"
    )]
    OtherPoller(String),
}

impl From<TelegramError> for PollError {
    fn from(error: TelegramError) -> PollError {
        match error {
            TelegramError::Api {
                code: 409,
                description,
                ..
            } if description.to_ascii_lowercase().contains("webhook") => {
                PollError::WebhookSet(description)
            }
            TelegramError::Api {
                code: 409,
                description,
                ..
            } => PollError::OtherPoller(description),
            other => PollError::Telegram(other),
        }
    }
}

#[derive(Debug, Clone)]
pub struct PollSettings {
    /// The longest single long poll.
    pub long_poll: Duration,
    /// Time kept back at the end of the run for queueing and saving the offset.
    pub reserve: Duration,
    /// The shortest time between two polls that brought nothing: a Bot API server (or a proxy)
    /// that answers at once instead of long-polling must not make the poller spin.
    pub min_interval: Duration,
}

impl Default for PollSettings {
    fn default() -> PollSettings {
        PollSettings {
            long_poll: Duration::from_secs(20),
            reserve: Duration::from_secs(5),
            min_interval: Duration::from_secs(1),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollReport {
    pub polls: usize,
    pub queued: usize,
}

pub struct Poller {
    telegram: Arc<dyn Telegram>,
    queue: Arc<dyn UpdateQueue>,
    offsets: Arc<dyn OffsetStore>,
    settings: PollSettings,
}

impl Poller {
    pub fn new(
        telegram: Arc<dyn Telegram>,
        queue: Arc<dyn UpdateQueue>,
        offsets: Arc<dyn OffsetStore>,
        settings: PollSettings,
    ) -> Poller {
        Poller {
            telegram,
            queue,
            offsets,
            settings,
        }
    }

    /// Polls until `deadline` is near (at least once). Stops at the first failure, after saving
    /// the offset of what was queued.
    pub async fn run(&self, deadline: Instant) -> Result<PollReport, PollError> {
        let mut report = PollReport::default();
        let mut last = self.offsets.last_update_id().await?;
        loop {
            let left = deadline
                .saturating_duration_since(Instant::now())
                .saturating_sub(self.settings.reserve);
            if report.polls > 0 && left < Duration::from_secs(1) {
                return Ok(report);
            }
            let timeout = left.min(self.settings.long_poll).as_secs() as u32;
            let started = Instant::now();
            let updates = self
                .telegram
                .get_updates(last.map(|id| id + 1), timeout, UPDATES_PER_POLL)
                .await?;
            report.polls += 1;
            let queued = self.forward(&updates, &mut last).await?;
            report.queued += queued;
            tracing::info!(received = updates.len(), queued, "polled Telegram");
            if updates.is_empty() {
                let next = (started + self.settings.min_interval).min(
                    deadline
                        .checked_sub(self.settings.reserve)
                        .unwrap_or(deadline),
                );
                tokio::time::sleep_until(next).await;
            }
        }
    }

    /// Queues updates in order, batch by batch, advancing the stored offset after each batch
    /// to just past the updates accepted without a gap. An update that cannot be read at all is
    /// logged with its id and raw text and passed over, so it never holds the others back.
    async fn forward(
        &self,
        updates: &[Box<RawValue>],
        last: &mut Option<i64>,
    ) -> Result<usize, PollError> {
        let mut queued = 0;
        let mut passed_over = None;
        let mut pending: Vec<QueuedUpdate> = Vec::new();
        for raw in updates {
            let text = raw.get();
            match QueuedUpdate::from_text(text) {
                Ok(update) => pending.push(update),
                Err(NotAnUpdate::NoUpdateId) => {
                    tracing::warn!(
                        text = for_log(text),
                        "an update without update_id was skipped"
                    );
                }
                Err(NotAnUpdate::Unreadable(error)) => {
                    tracing::error!(
                        update_id = error.update_id,
                        %error,
                        text = for_log(text),
                        "an update that cannot be read was passed over"
                    );
                    passed_over = passed_over.max(error.update_id);
                }
            }
        }
        // Telegram never serves an update again once the offset passed it, except when its ids
        // restarted ("after a week without updates the next id is chosen at random"). Queue
        // them (the receipts make a repeat harmless) and restart the offset there.
        let restarted_at = last.and_then(|last| {
            pending
                .iter()
                .filter(|u| u.update_id <= last)
                .map(|u| u.update_id)
                .max()
        });
        if let Some(id) = restarted_at {
            tracing::warn!(
                update_id = id,
                last_queued = *last,
                "Telegram's update ids restarted below the stored offset; polling goes on from there"
            );
        }
        // Telegram sends updates in order; the offset logic below relies on it, so make sure.
        pending.sort_by_key(|u| u.update_id);
        for batch in batches(&pending) {
            let outcome = self.queue.send(batch).await?;
            let mut accepted_through = None;
            for update in batch {
                if let Some((_, reason)) = outcome
                    .rejected
                    .iter()
                    .find(|(id, _)| *id == update.update_id)
                {
                    if let Some(id) = accepted_through {
                        self.offsets.advance(id).await?;
                        *last = Some(id);
                    }
                    return Err(PollError::Rejected {
                        update_id: update.update_id,
                        reason: reason.clone(),
                    });
                }
                accepted_through = Some(update.update_id);
                queued += 1;
            }
            if let Some(id) = accepted_through {
                self.offsets.advance(id).await?;
                *last = Some(id);
            }
        }
        if restarted_at.is_some()
            && let Some(highest) = pending.iter().map(|u| u.update_id).max()
        {
            self.offsets.restart(highest).await?;
            *last = Some(highest);
        }
        // Past the unreadable ones too, once everything before them is queued.
        if let Some(id) = passed_over.filter(|id| last.is_none_or(|last| *id > last)) {
            self.offsets.advance(id).await?;
            *last = Some(id);
        }
        Ok(queued)
    }
}

/// Splits updates into batches within SQS's count and size limits, keeping their order.
fn batches(updates: &[QueuedUpdate]) -> Vec<&[QueuedUpdate]> {
    let mut batches = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, update) in updates.iter().enumerate() {
        let size = update.body.len();
        if i > start && (i - start == MAX_BATCH || bytes + size > MAX_BATCH_BYTES) {
            batches.push(&updates[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < updates.len() {
        batches.push(&updates[start..]);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(id: i64, size: usize) -> QueuedUpdate {
        QueuedUpdate {
            update_id: id,
            group_id: "g".into(),
            body: "x".repeat(size),
        }
    }

    #[test]
    fn batches_respect_count_and_size_and_order() {
        let small: Vec<_> = (0..23).map(|i| update(i, 10)).collect();
        let sizes: Vec<usize> = batches(&small).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [10, 10, 3]);
        let big: Vec<_> = (0..3).map(|i| update(i, 100 * 1024)).collect();
        let split = batches(&big);
        assert_eq!(split.iter().map(|b| b.len()).collect::<Vec<_>>(), [2, 1]);
        assert_eq!(split[1][0].update_id, 2);
        assert!(batches(&[]).is_empty());
    }
}
