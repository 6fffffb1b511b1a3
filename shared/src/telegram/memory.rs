//! Telegram in memory, for tests (feature `testing`): every message sent, edited or uploaded is
//! kept as its chat would show it, with injected [`Faults`] (a fault after a send is a message
//! that reached the chat while its answer was lost).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::value::RawValue;

use super::{BotUser, FileInfo, SentMessage, Telegram, TelegramError, TextFormat};
use crate::domain::command::table::{MenuEntry, MenuScope};
use crate::testing::faults::{Faults, Step};

/// Something the bot sent, as the chat shows it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    Text {
        chat_id: i64,
        message_id: i64,
        text: String,
    },
    Document {
        chat_id: i64,
        message_id: i64,
        file_name: String,
        caption: String,
    },
}

impl Shown {
    pub fn chat_id(&self) -> i64 {
        match self {
            Shown::Text { chat_id, .. } | Shown::Document { chat_id, .. } => *chat_id,
        }
    }

    /// The text, or `<file name>` for a document.
    pub fn summary(&self) -> String {
        match self {
            Shown::Text { text, .. } => text.clone(),
            Shown::Document { file_name, .. } => format!("<file {file_name}>"),
        }
    }
}

#[derive(Default)]
struct Chats {
    shown: Vec<Shown>,
    files: HashMap<String, Vec<u8>>,
    menus: Vec<(MenuScope, Vec<MenuEntry>)>,
    next_message_id: i64,
}

pub struct MemoryTelegram {
    chats: Mutex<Chats>,
    faults: Arc<Faults>,
}

fn lost(method: &'static str) -> TelegramError {
    TelegramError::Transport {
        method,
        detail: "injected fault".into(),
    }
}

impl MemoryTelegram {
    pub fn new(faults: Arc<Faults>) -> MemoryTelegram {
        MemoryTelegram {
            chats: Mutex::new(Chats::default()),
            faults,
        }
    }

    /// Everything shown in `chat_id`, in order.
    pub fn shown_in(&self, chat_id: i64) -> Vec<Shown> {
        let chats = self.chats.lock().unwrap();
        chats
            .shown
            .iter()
            .filter(|s| s.chat_id() == chat_id)
            .cloned()
            .collect()
    }

    /// The summary of everything shown in `chat_id`, in order: what a test compares.
    pub fn summaries_in(&self, chat_id: i64) -> Vec<String> {
        self.shown_in(chat_id).iter().map(Shown::summary).collect()
    }

    /// Everything shown, in every chat, in order.
    pub fn shown(&self) -> Vec<Shown> {
        self.chats.lock().unwrap().shown.clone()
    }

    /// Makes a file downloadable under `file_id` (its path is the id).
    pub fn add_file(&self, file_id: &str, bytes: Vec<u8>) {
        self.chats
            .lock()
            .unwrap()
            .files
            .insert(file_id.to_string(), bytes);
    }

    pub fn menus(&self) -> Vec<(MenuScope, Vec<MenuEntry>)> {
        self.chats.lock().unwrap().menus.clone()
    }

    fn enter(&self, method: &'static str) -> Result<Step, TelegramError> {
        let step = self.faults.enter(method);
        if step.fails_before() {
            return Err(lost(method));
        }
        Ok(step)
    }

    fn show(
        &self,
        step: Step,
        method: &'static str,
        shown: impl FnOnce(i64) -> Shown,
    ) -> Result<SentMessage, TelegramError> {
        let mut chats = self.chats.lock().unwrap();
        chats.next_message_id += 1;
        let message_id = chats.next_message_id;
        chats.shown.push(shown(message_id));
        if step.fails_after() {
            return Err(lost(method));
        }
        Ok(SentMessage { message_id })
    }
}

#[async_trait]
impl Telegram for MemoryTelegram {
    async fn get_me(&self) -> Result<BotUser, TelegramError> {
        self.enter("getMe")?;
        Ok(BotUser {
            id: 1,
            username: Some("cloudaibot".into()),
        })
    }

    async fn get_updates(
        &self,
        _offset: Option<i64>,
        _timeout_seconds: u32,
        _limit: u32,
    ) -> Result<Vec<Box<RawValue>>, TelegramError> {
        self.enter("getUpdates")?;
        Ok(Vec::new())
    }

    async fn send_text(
        &self,
        chat_id: i64,
        _reply_to: Option<i64>,
        text: &str,
        _format: TextFormat,
    ) -> Result<SentMessage, TelegramError> {
        const METHOD: &str = "sendMessage";
        let step = self.enter(METHOD)?;
        self.show(step, METHOD, |message_id| Shown::Text {
            chat_id,
            message_id,
            text: text.to_string(),
        })
    }

    async fn edit_text(
        &self,
        chat_id: i64,
        message_id: i64,
        text: &str,
        _format: TextFormat,
    ) -> Result<(), TelegramError> {
        const METHOD: &str = "editMessageText";
        let step = self.enter(METHOD)?;
        let mut chats = self.chats.lock().unwrap();
        let Some(Shown::Text { text: shown, .. }) = chats.shown.iter_mut().find(|s| {
            matches!(s, Shown::Text { chat_id: c, message_id: m, .. } if *c == chat_id && *m == message_id)
        }) else {
            return Err(TelegramError::Api {
                method: METHOD,
                code: 400,
                description: "Bad Request: message to edit not found".into(),
                retry_after: None,
            });
        };
        *shown = text.to_string();
        if step.fails_after() {
            return Err(lost(METHOD));
        }
        Ok(())
    }

    async fn send_chat_action(&self, _chat_id: i64, _action: &str) -> Result<(), TelegramError> {
        self.enter("sendChatAction")?;
        Ok(())
    }

    async fn send_document(
        &self,
        chat_id: i64,
        _reply_to: Option<i64>,
        file_name: &str,
        _bytes: Vec<u8>,
        caption: &str,
    ) -> Result<SentMessage, TelegramError> {
        const METHOD: &str = "sendDocument";
        let step = self.enter(METHOD)?;
        self.show(step, METHOD, |message_id| Shown::Document {
            chat_id,
            message_id,
            file_name: file_name.to_string(),
            caption: caption.to_string(),
        })
    }

    async fn get_file(&self, file_id: &str) -> Result<FileInfo, TelegramError> {
        self.enter("getFile")?;
        let size = self.chats.lock().unwrap().files.get(file_id).map(Vec::len);
        Ok(FileInfo {
            file_id: file_id.to_string(),
            file_size: size.map(|s| s as u64),
            file_path: size.map(|_| file_id.to_string()),
        })
    }

    async fn download_file(
        &self,
        file_path: &str,
        max_bytes: u64,
    ) -> Result<Vec<u8>, TelegramError> {
        self.enter("downloadFile")?;
        let bytes = self.chats.lock().unwrap().files.get(file_path).cloned();
        match bytes {
            Some(bytes) if bytes.len() as u64 > max_bytes => {
                Err(TelegramError::FileTooLarge { limit: max_bytes })
            }
            Some(bytes) => Ok(bytes),
            None => Err(TelegramError::Api {
                method: "downloadFile",
                code: 404,
                description: "Not Found".into(),
                retry_after: None,
            }),
        }
    }

    async fn set_my_commands(
        &self,
        scope: MenuScope,
        commands: &[MenuEntry],
    ) -> Result<(), TelegramError> {
        self.enter("setMyCommands")?;
        let mut chats = self.chats.lock().unwrap();
        chats.menus.retain(|(s, _)| *s != scope);
        chats.menus.push((scope, commands.to_vec()));
        Ok(())
    }
}
