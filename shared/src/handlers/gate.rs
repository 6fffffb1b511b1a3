//! Before anything is written for an update: whether it is for the bot at all, whose stream it
//! goes to, whether the sender may use the bot, and whether they are over a limit (and, after an
//! answer, charging its tokens). Refusals and limits are told at most once a window and never
//! recorded as events.

use std::sync::Arc;

use crate::archive::ArchiveStore;
use crate::clock::Clock;
use crate::domain::access::{BOT_STREAM, REFUSAL_QUIET_SECONDS, Sender};
use crate::domain::command::{Command, parse};
use crate::domain::decide::Reply;
use crate::domain::limits::{MESSAGES, TOKENS, Window};
use crate::domain::replies;
use crate::domain::update::{ChatKind, Content, Incoming};
use crate::store::{Allowance, EventStore, Quotas};
use crate::telegram::Telegram;

use super::delivery;
use super::error::HandleError;
use super::settings::Settings;

/// What routing made of an update.
pub(super) enum Routed {
    /// A group message that does not address the bot, or a command for another bot.
    NotForTheBot,
    /// From someone who may not use the bot.
    Stranger,
    To(Route),
}

/// Where an update goes, decided before anything is written for it.
pub(super) struct Route {
    /// The stream it is decided on: the sender's, the group's, or the bot's (access commands).
    pub owner: i64,
    /// The text's command; `None` for documents and other kinds.
    pub command: Option<Command>,
    pub is_admin: bool,
}

#[derive(Clone)]
pub(super) struct Gate {
    pub store: Arc<dyn EventStore>,
    pub quotas: Arc<dyn Quotas>,
    pub telegram: Arc<dyn Telegram>,
    pub archives: Arc<dyn ArchiveStore>,
    pub settings: Settings,
    pub clock: Arc<dyn Clock>,
}

impl Gate {
    /// Where an update goes. The access lists are read afresh for every update, so a change
    /// counts at once.
    pub async fn route(&self, incoming: &Incoming) -> Result<Routed, HandleError> {
        let bot_username = self.settings.bot_username.as_deref();
        if !incoming.is_addressed(self.settings.bot_id, bot_username) {
            tracing::info!(
                update_id = incoming.update_id,
                chat_id = incoming.chat_id,
                "a group message not addressed to the bot; ignored"
            );
            return Ok(Routed::NotForTheBot);
        }
        let command = match &incoming.content {
            Content::Text(text) => Some(parse(text, bot_username)),
            // A caption is a chat message (never a command), counted as one.
            Content::Photo(photo) => photo.caption.clone().map(Command::Chat),
            // So is a voice message (its words are known once it is transcribed, after this).
            Content::Voice(_) => Some(Command::Chat(String::new())),
            _ => None,
        };
        if matches!(command, Some(Command::ForAnotherBot)) {
            tracing::info!(update_id = incoming.update_id, "a command for another bot");
            return Ok(Routed::NotForTheBot);
        }
        let sender = Sender {
            id: incoming.user_id,
            username: incoming.username.clone(),
        };
        let changes = self.store.load(BOT_STREAM).await?.access;
        if !self.settings.access.may_use(&changes, &sender) {
            return Ok(Routed::Stranger);
        }
        let owner = match command {
            Some(Command::Allow(_) | Command::Deny(_) | Command::Users) => BOT_STREAM,
            _ => incoming.owner(),
        };
        Ok(Routed::To(Route {
            owner,
            command,
            is_admin: self.settings.access.is_admin(&sender),
        }))
    }

    /// Counts the update against the sender's messages a minute and, for a chat message the
    /// model would answer (`answering`), checks their tokens today. Over either: tells them once
    /// a window and says so (the update is then dropped; a crash before the append may count it
    /// twice).
    pub async fn over_a_limit(
        &self,
        incoming: &Incoming,
        route: &Route,
        answering: bool,
    ) -> Result<bool, HandleError> {
        let limits = self.settings.limits;
        let now = self.clock.now();
        let sender = incoming.user_id;
        let minute = Window::minute(now);
        let mut over = None;
        if let Allowance::Refused { first } = self
            .quotas
            .take(sender, MESSAGES, minute, 1, limits.messages_per_minute)
            .await?
        {
            over = Some((
                first,
                replies::too_many_messages(limits.messages_per_minute, minute.resets_at),
            ));
        }
        let chat = matches!(route.command, Some(Command::Chat(_) | Command::Retry));
        if over.is_none() && chat && answering {
            let day = Window::day(now);
            if let Allowance::Refused { first } = self
                .quotas
                .take(sender, TOKENS, day, 0, limits.tokens_per_day)
                .await?
            {
                over = Some((
                    first,
                    replies::tokens_used_up(limits.tokens_per_day, day.resets_at, now),
                ));
            }
        }
        let Some((first, text)) = over else {
            return Ok(false);
        };
        tracing::info!(
            user_id = sender,
            update_id = incoming.update_id,
            told = first,
            "over a limit; the update is dropped"
        );
        if first {
            self.tell(incoming, text).await?;
        }
        Ok(true)
    }

    /// Tells a stranger, once an hour at most, how to get in; stores nothing about the update.
    pub async fn refuse(&self, incoming: &Incoming) -> Result<(), HandleError> {
        let now = self.clock.now();
        let tell = self
            .quotas
            .note_refusal(incoming.user_id, now, REFUSAL_QUIET_SECONDS)
            .await?;
        tracing::info!(
            user_id = incoming.user_id,
            update_id = incoming.update_id,
            told = tell,
            "someone who may not use the bot was refused"
        );
        if tell {
            self.tell(incoming, replies::stranger(incoming.user_id))
                .await?;
        }
        Ok(())
    }

    /// A reply to an update that is not recorded (a refusal, a limit): sent at most once, since
    /// the caller noted it first.
    async fn tell(&self, incoming: &Incoming, text: String) -> Result<(), HandleError> {
        delivery::deliver(
            self.telegram.as_ref(),
            self.archives.as_ref(),
            incoming.chat_id,
            reply_target(incoming),
            &Reply::text(text),
        )
        .await
    }
}

/// In a group, replies quote the message that asked (several people talk there); in a private
/// chat they need not.
pub(super) fn reply_target(incoming: &Incoming) -> Option<i64> {
    (incoming.chat == ChatKind::Group).then_some(incoming.message_id)
}

/// Charges an answer's tokens to `asker`, against their daily tokens (checked before the next
/// chat message by [`Gate::over_a_limit`]). A failure costs the count, never the answer.
pub(super) async fn charge_tokens(quotas: &dyn Quotas, asker: i64, tokens: u64, now: i64) {
    let day = Window::day(now);
    if let Err(error) = quotas.take(asker, TOKENS, day, tokens, u64::MAX).await {
        tracing::warn!(%error, user_id = asker, tokens, "the answer's tokens could not be counted");
    }
}
