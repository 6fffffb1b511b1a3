//! An answer shown while it is written: the first piece is sent at once, later text arrives by
//! `editMessageText` at most once per `min_interval` per chat, text past a message's limit
//! continues in further messages, and `finish` always leaves the whole text shown. Its first call
//! goes at once (Telegram allows a short burst; the interval paces the stream of edits), so a
//! finished answer never waits out the interval. It honours 429's `retry_after`, ignores "message
//! is not modified", and falls back to plain text when Telegram refuses a message's markup.

use std::time::Duration;

use tokio::time::Instant;

use super::html::{ends_in_code_block, render, shows_nothing};
use super::text::split;
use super::{Telegram, TelegramError, TextFormat};

/// Raw text per message, under the 4,096 limit: rendering only removes characters.
pub const PAGE_LIMIT: usize = 4000;
/// How often `finish` retries a call that failed transiently before giving up.
const FINISH_ATTEMPTS: usize = 5;

#[derive(Debug, Clone, Copy)]
pub struct LiveSettings {
    pub min_interval: Duration,
    pub page_limit: usize,
    pub format: TextFormat,
}

impl Default for LiveSettings {
    fn default() -> LiveSettings {
        LiveSettings {
            min_interval: Duration::from_secs(1),
            page_limit: PAGE_LIMIT,
            format: TextFormat::Html,
        }
    }
}

/// What a live reply cost: Telegram calls, and when the first text became visible.
#[derive(Debug, Clone, Copy, Default)]
pub struct LiveStats {
    pub sends: usize,
    pub edits: usize,
    pub first_visible: Option<Instant>,
}

#[derive(Debug, Clone)]
struct Page {
    message_id: i64,
    /// The raw text the message shows (`None` when unknown, after a restart).
    shown: Option<String>,
    plain: bool,
}

pub struct LiveMessage<'a> {
    telegram: &'a dyn Telegram,
    chat_id: i64,
    /// The message the reply answers (in groups), quoted by its first message.
    reply_to: Option<i64>,
    settings: LiveSettings,
    pages: Vec<Page>,
    /// When the interval allows the next call.
    next_call: Instant,
    /// Until when Telegram asked us to wait (429's `retry_after`, or a failure's back-off).
    held_until: Instant,
    pub stats: LiveStats,
}

impl<'a> LiveMessage<'a> {
    /// A live reply in `chat_id` (to the message `reply_to`, if given), reusing `message_ids`
    /// (sent by an earlier, interrupted try).
    pub fn new(
        telegram: &'a dyn Telegram,
        chat_id: i64,
        reply_to: Option<i64>,
        message_ids: &[i64],
        settings: LiveSettings,
    ) -> LiveMessage<'a> {
        LiveMessage {
            telegram,
            chat_id,
            reply_to,
            settings,
            pages: message_ids
                .iter()
                .map(|id| Page {
                    message_id: *id,
                    shown: None,
                    plain: false,
                })
                .collect(),
            next_call: Instant::now(),
            held_until: Instant::now(),
            stats: LiveStats::default(),
        }
    }

    /// The messages holding the reply so far.
    /// Where the answer is shown (for the typing indicator while it waits).
    pub fn telegram(&self) -> &'a dyn Telegram {
        self.telegram
    }

    pub fn message_ids(&self) -> Vec<i64> {
        self.pages.iter().map(|p| p.message_id).collect()
    }

    /// Shows `text` as far as one call allowed now can: the first message at once, then one edit
    /// or new message per interval. Never waits. Fails only on refusals that later calls cannot
    /// overcome (the chat is gone, the bot blocked).
    pub async fn show(&mut self, text: &str) -> Result<(), TelegramError> {
        let now = Instant::now();
        if now < self.held_until || (!self.pages.is_empty() && now < self.next_call) {
            return Ok(());
        }
        let targets = self.targets(text);
        let Some(index) = self.first_stale(&targets) else {
            return Ok(());
        };
        // An answer that has only opened a code block so far: wait for its first character.
        if !self.is_plain(index)
            && shows_nothing(&render(&targets[index], self.starts_in_code_block(index)))
        {
            return Ok(());
        }
        match self.call(index, &targets[index]).await {
            Ok(()) => Ok(()),
            Err(e) if e.is_transient() => {
                tracing::info!(error = %e, "a live edit failed; the next one catches up");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Shows all of `text`, waiting for the interval and for Telegram's `retry_after`.
    pub async fn finish(&mut self, text: &str) -> Result<(), TelegramError> {
        let targets = self.targets(text);
        let mut failures = 0;
        let mut first = true;
        while let Some(index) = self.first_stale(&targets) {
            let due = if first {
                self.held_until
            } else {
                self.next_call.max(self.held_until)
            };
            first = false;
            tokio::time::sleep_until(due).await;
            match self.call(index, &targets[index]).await {
                Ok(()) => failures = 0,
                Err(e) if e.is_transient() && failures + 1 < FINISH_ATTEMPTS => {
                    failures += 1;
                    if e.retry_after().is_none() {
                        self.held_until = Instant::now() + Duration::from_secs(1 << failures);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        // Messages of an earlier, longer try that this text no longer needs.
        for index in targets.len()..self.pages.len() {
            if self.pages[index].shown.as_deref() != Some("…") {
                tokio::time::sleep_until(self.next_call.max(self.held_until)).await;
                let _ = self.call(index, "…").await;
                self.pages[index].shown = Some("…".into());
            }
        }
        Ok(())
    }

    fn targets(&self, text: &str) -> Vec<String> {
        let text = if text.trim().is_empty() { "…" } else { text };
        split(text, self.settings.page_limit)
    }

    fn first_stale(&self, targets: &[String]) -> Option<usize> {
        targets
            .iter()
            .enumerate()
            .find(|(i, target)| self.pages.get(*i).and_then(|p| p.shown.as_ref()) != Some(*target))
            .map(|(i, _)| i)
    }

    /// Whether page `index` starts inside a code block left open by the pages before it.
    fn starts_in_code_block(&self, index: usize) -> bool {
        self.pages[..index.min(self.pages.len())]
            .iter()
            .fold(false, |open, page| {
                ends_in_code_block(page.shown.as_deref().unwrap_or(""), open)
            })
    }

    fn is_plain(&self, index: usize) -> bool {
        self.settings.format == TextFormat::Plain || self.pages.get(index).is_some_and(|p| p.plain)
    }

    /// One sendMessage or editMessageText for page `index`; records the outcome.
    async fn call(&mut self, index: usize, target: &str) -> Result<(), TelegramError> {
        let plain = self.is_plain(index);
        let rendered = (!plain).then(|| render(target, self.starts_in_code_block(index)));
        let (body, format) = match rendered {
            // Formatting with nothing inside (a final answer of only a fence) is shown as the
            // characters it is, not refused by Telegram as an empty message.
            Some(html) if !shows_nothing(&html) => (html, TextFormat::Html),
            _ => (target.to_string(), TextFormat::Plain),
        };
        self.next_call = Instant::now() + self.settings.min_interval;
        let result = match self.pages.get(index) {
            Some(page) => {
                self.stats.edits += 1;
                self.telegram
                    .edit_text(self.chat_id, page.message_id, &body, format)
                    .await
            }
            None => {
                self.stats.sends += 1;
                let reply_to = self.reply_to.filter(|_| self.pages.is_empty());
                let sent = self
                    .telegram
                    .send_text(self.chat_id, reply_to, &body, format)
                    .await;
                sent.map(|message| {
                    self.pages.push(Page {
                        message_id: message.message_id,
                        shown: None,
                        plain,
                    })
                })
            }
        };
        match result {
            Ok(()) => {
                self.pages[index].shown = Some(target.to_string());
                self.stats.first_visible.get_or_insert_with(Instant::now);
                Ok(())
            }
            Err(e) if e.is_not_modified() => {
                self.pages[index].shown = Some(target.to_string());
                Ok(())
            }
            Err(e) if e.is_bad_markup() && !plain => {
                tracing::warn!(error = %e, "Telegram refused the markup; sending plain text");
                match self.pages.get_mut(index) {
                    Some(page) => page.plain = true,
                    None => self.settings.format = TextFormat::Plain,
                }
                self.next_call = Instant::now();
                Box::pin(self.call(index, target)).await
            }
            Err(e) => {
                if let Some(seconds) = e.retry_after() {
                    self.held_until = Instant::now() + Duration::from_secs(seconds);
                }
                Err(e)
            }
        }
    }
}
