//! The Telegram Bot API port: the calls the bot makes, with the API's error shape.

pub mod html;
pub mod http;
pub mod live_message;
#[cfg(feature = "testing")]
pub mod memory;
pub mod text;

use async_trait::async_trait;

use crate::domain::command::table::{MenuEntry, MenuScope};
use serde::Deserialize;

/// A Bot API failure. Never holds the bot token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelegramError {
    /// `ok: false` from the API.
    #[error("Telegram refused {method}: {code} {description}")]
    Api {
        method: &'static str,
        code: i64,
        description: String,
        /// From `parameters.retry_after` on 429 Too Many Requests.
        retry_after: Option<u64>,
    },
    #[error("Telegram could not be reached for {method}: {detail}")]
    Transport {
        method: &'static str,
        detail: String,
    },
    #[error("Telegram's answer to {method} was not understood: {detail}")]
    Decode {
        method: &'static str,
        detail: String,
    },
    #[error("the file is larger than {limit} bytes")]
    FileTooLarge { limit: u64 },
}

impl TelegramError {
    /// Seconds to wait before trying again, when Telegram asked for it.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            TelegramError::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether trying the same call later may succeed. An answer that is not the Bot API's
    /// (a proxy's error page, cut-off JSON) is transient: Telegram itself did not refuse.
    pub fn is_transient(&self) -> bool {
        match self {
            TelegramError::Api { code, .. } => *code == 429 || *code >= 500,
            TelegramError::Transport { .. } | TelegramError::Decode { .. } => true,
            TelegramError::FileTooLarge { .. } => false,
        }
    }
}

/// How Telegram should read a message's text (`parse_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextFormat {
    Plain,
    Html,
}

impl TelegramError {
    /// 400 "message is not modified": an edit to the text the message already has.
    pub fn is_not_modified(&self) -> bool {
        matches!(self, TelegramError::Api { code: 400, description, .. } if description.contains("message is not modified"))
    }

    /// 400 "can't parse entities": Telegram refused the message's markup.
    pub fn is_bad_markup(&self) -> bool {
        matches!(self, TelegramError::Api { code: 400, description, .. } if description.contains("can't parse entities"))
    }
}

/// The part of a sent `Message` the bot uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SentMessage {
    pub message_id: i64,
}

/// The bot itself, from `getMe`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BotUser {
    pub id: i64,
    pub username: Option<String>,
}

/// A `File` from `getFile`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FileInfo {
    pub file_id: String,
    pub file_size: Option<u64>,
    /// Absent when the file cannot be downloaded (over the Bot API's 20 MB limit).
    pub file_path: Option<String>,
}

#[async_trait]
pub trait Telegram: Send + Sync {
    /// `getMe`: checks the token and names the bot.
    async fn get_me(&self) -> Result<BotUser, TelegramError>;
    /// Raw updates, each as the JSON text Telegram sent: unknown kinds must survive the trip to
    /// the command handler, and one update no strict parser takes must not spoil the others.
    async fn get_updates(
        &self,
        offset: Option<i64>,
        timeout_seconds: u32,
        limit: u32,
    ) -> Result<Vec<Box<serde_json::value::RawValue>>, TelegramError>;
    async fn send_message(&self, chat_id: i64, text: &str) -> Result<SentMessage, TelegramError> {
        self.send_text(chat_id, None, text, TextFormat::Plain).await
    }
    /// `sendMessage`, as a reply to the message `reply_to` when given (in groups: the message
    /// that asked), still sent if that message is gone.
    async fn send_text(
        &self,
        chat_id: i64,
        reply_to: Option<i64>,
        text: &str,
        format: TextFormat,
    ) -> Result<SentMessage, TelegramError>;
    async fn edit_text(
        &self,
        chat_id: i64,
        message_id: i64,
        text: &str,
        format: TextFormat,
    ) -> Result<(), TelegramError>;
    /// `sendChatAction`, e.g. `typing` (shown for about five seconds).
    async fn send_chat_action(&self, chat_id: i64, action: &str) -> Result<(), TelegramError>;
    async fn send_document(
        &self,
        chat_id: i64,
        reply_to: Option<i64>,
        file_name: &str,
        bytes: Vec<u8>,
        caption: &str,
    ) -> Result<SentMessage, TelegramError>;
    async fn get_file(&self, file_id: &str) -> Result<FileInfo, TelegramError>;
    /// `setMyCommands`: the command menu Telegram shows in the chats of `scope`.
    async fn set_my_commands(
        &self,
        scope: MenuScope,
        commands: &[MenuEntry],
    ) -> Result<(), TelegramError>;
    /// Downloads a file from `getFile`'s `file_path`, refusing more than `max_bytes`.
    async fn download_file(
        &self,
        file_path: &str,
        max_bytes: u64,
    ) -> Result<Vec<u8>, TelegramError>;
    /// A file's bytes by its `file_id` (`getFile`, then the download), refusing more than
    /// `max_bytes`; a file the Bot API will not serve (no path: over 20 MB) is too large too.
    async fn fetch_file(&self, file_id: &str, max_bytes: u64) -> Result<Vec<u8>, TelegramError> {
        let file = self.get_file(file_id).await?;
        let path = file
            .file_path
            .ok_or(TelegramError::FileTooLarge { limit: max_bytes })?;
        self.download_file(&path, max_bytes).await
    }
}
