//! The Telegram Bot API over HTTPS (`{base}/bot<token>/<method>`), with a configurable base URL
//! for local fakes. The token is kept out of every error, log line and `Debug` output.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

mod webhook;

pub use webhook::{ALLOWED_UPDATES, WebhookInfo, WebhookRegistration};

use super::{BotUser, FileInfo, SentMessage, Telegram, TelegramError, TextFormat};
use crate::domain::command::table::{MenuEntry, MenuScope};

pub const DEFAULT_API_URL: &str = "https://api.telegram.org";

/// Extra time allowed on top of a long poll's own timeout.
const LONG_POLL_MARGIN: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const OK_WITHOUT_RESULT: &str = "ok without a result";

pub struct HttpTelegram {
    http: reqwest::Client,
    base_url: String,
    token: String,
}

impl std::fmt::Debug for HttpTelegram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTelegram")
            .field("base_url", &self.base_url)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// The Bot API's envelope: `{ok, result}` or `{ok: false, error_code, description, parameters}`.
#[derive(Deserialize)]
struct Envelope<T> {
    ok: bool,
    result: Option<T>,
    error_code: Option<i64>,
    description: Option<String>,
    parameters: Option<ResponseParameters>,
}

#[derive(Deserialize)]
struct ResponseParameters {
    retry_after: Option<u64>,
}

impl HttpTelegram {
    pub fn new(base_url: impl Into<String>, token: impl Into<String>) -> HttpTelegram {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .expect("the HTTP client builds with static settings");
        HttpTelegram {
            http,
            base_url: base_url.into().trim_end_matches('/').to_string(),
            token: token.into(),
        }
    }

    fn method_url(&self, method: &str) -> String {
        format!("{}/bot{}/{method}", self.base_url, self.token)
    }

    /// reqwest's errors carry the URL, and the URL carries the token: strip it. The detail names
    /// the cause (a timeout, or the innermost error: DNS, refused, TLS), not just "error sending
    /// request".
    fn transport(&self, method: &'static str, error: reqwest::Error) -> TelegramError {
        let error = error.without_url();
        let mut causes = vec![error.to_string()];
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !causes.iter().any(|c| c.contains(&text)) {
                causes.push(text);
            }
            source = cause.source();
        }
        if error.is_timeout() {
            causes.push("timed out".into());
        }
        let detail = causes.join(": ").replace(&self.token, "<token>");
        TelegramError::Transport { method, detail }
    }

    async fn decode<T: DeserializeOwned>(
        &self,
        method: &'static str,
        response: reqwest::Response,
    ) -> Result<T, TelegramError> {
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport(method, e))?;
        let envelope: Envelope<T> = serde_json::from_slice(&body).map_err(|e| {
            // A proxy's error page or a cut-off answer: say what came, briefly.
            let kind = if body.first() == Some(&b'<') {
                "an HTML page".to_string()
            } else {
                format!("{e}")
            };
            TelegramError::Decode {
                method,
                detail: format!("HTTP {status}, {kind} ({} bytes)", body.len()),
            }
        })?;
        match (envelope.ok, envelope.result) {
            (true, Some(result)) => Ok(result),
            (true, None) => Err(TelegramError::Decode {
                method,
                detail: OK_WITHOUT_RESULT.into(),
            }),
            (false, _) => Err(TelegramError::Api {
                method,
                code: envelope.error_code.unwrap_or(i64::from(status.as_u16())),
                description: envelope
                    .description
                    .unwrap_or_default()
                    .replace(&self.token, "<token>"),
                retry_after: envelope.parameters.and_then(|p| p.retry_after),
            }),
        }
    }

    /// A call whose result the bot does not use: `ok: true` is success, whatever the result
    /// (a Message, `true`, or none).
    async fn call_done(
        &self,
        method: &'static str,
        body: serde_json::Value,
    ) -> Result<(), TelegramError> {
        match self
            .call::<serde::de::IgnoredAny>(method, body, REQUEST_TIMEOUT)
            .await
        {
            Ok(_) => Ok(()),
            Err(TelegramError::Decode { detail, .. }) if detail == OK_WITHOUT_RESULT => Ok(()),
            Err(other) => Err(other),
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: &'static str,
        body: serde_json::Value,
        timeout: Duration,
    ) -> Result<T, TelegramError> {
        let response = self
            .http
            .post(self.method_url(method))
            .timeout(timeout)
            .json(&body)
            .send()
            .await
            .map_err(|e| self.transport(method, e))?;
        self.decode(method, response).await
    }
}

#[async_trait]
impl Telegram for HttpTelegram {
    async fn get_me(&self) -> Result<BotUser, TelegramError> {
        self.call("getMe", json!({}), Duration::from_secs(15)).await
    }

    async fn get_updates(
        &self,
        offset: Option<i64>,
        timeout_seconds: u32,
        limit: u32,
    ) -> Result<Vec<Box<serde_json::value::RawValue>>, TelegramError> {
        let mut body = json!({ "timeout": timeout_seconds, "limit": limit });
        if let Some(offset) = offset {
            body["offset"] = json!(offset);
        }
        let timeout = Duration::from_secs(u64::from(timeout_seconds)) + LONG_POLL_MARGIN;
        self.call("getUpdates", body, timeout).await
    }

    async fn send_text(
        &self,
        chat_id: i64,
        reply_to: Option<i64>,
        text: &str,
        format: TextFormat,
    ) -> Result<SentMessage, TelegramError> {
        let mut body = json!({ "chat_id": chat_id, "text": text, "link_preview_options": {"is_disabled": true} });
        if let Some(message_id) = reply_to {
            body["reply_parameters"] = reply_parameters(message_id);
        }
        if format == TextFormat::Html {
            body["parse_mode"] = json!("HTML");
        }
        self.call("sendMessage", body, REQUEST_TIMEOUT).await
    }

    async fn edit_text(
        &self,
        chat_id: i64,
        message_id: i64,
        text: &str,
        format: TextFormat,
    ) -> Result<(), TelegramError> {
        let mut body = json!({
            "chat_id": chat_id, "message_id": message_id, "text": text,
            "link_preview_options": {"is_disabled": true}
        });
        if format == TextFormat::Html {
            body["parse_mode"] = json!("HTML");
        }
        // The edited Message, or True (for inline messages, and from some Bot API servers).
        self.call_done("editMessageText", body).await
    }

    async fn set_my_commands(
        &self,
        scope: MenuScope,
        commands: &[MenuEntry],
    ) -> Result<(), TelegramError> {
        let scope = match scope {
            MenuScope::Default => json!({ "type": "default" }),
            MenuScope::AllGroupChats => json!({ "type": "all_group_chats" }),
            MenuScope::Chat(chat_id) => json!({ "type": "chat", "chat_id": chat_id }),
        };
        let commands: Vec<serde_json::Value> = commands
            .iter()
            .map(|c| json!({ "command": c.command, "description": c.description }))
            .collect();
        self.call_done(
            "setMyCommands",
            json!({ "commands": commands, "scope": scope }),
        )
        .await
    }

    async fn send_chat_action(&self, chat_id: i64, action: &str) -> Result<(), TelegramError> {
        let body = json!({ "chat_id": chat_id, "action": action });
        self.call_done("sendChatAction", body).await
    }

    async fn send_document(
        &self,
        chat_id: i64,
        reply_to: Option<i64>,
        file_name: &str,
        bytes: Vec<u8>,
        caption: &str,
    ) -> Result<SentMessage, TelegramError> {
        const METHOD: &str = "sendDocument";
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(file_name.to_string())
            .mime_str("application/json")
            .expect("a static MIME type parses");
        let mut form = reqwest::multipart::Form::new()
            .text("chat_id", chat_id.to_string())
            .text("caption", caption.to_string())
            .part("document", part);
        if let Some(message_id) = reply_to {
            form = form.text("reply_parameters", reply_parameters(message_id).to_string());
        }
        let response = self
            .http
            .post(self.method_url(METHOD))
            .timeout(REQUEST_TIMEOUT * 2)
            .multipart(form)
            .send()
            .await
            .map_err(|e| self.transport(METHOD, e))?;
        self.decode(METHOD, response).await
    }

    async fn get_file(&self, file_id: &str) -> Result<FileInfo, TelegramError> {
        self.call("getFile", json!({ "file_id": file_id }), REQUEST_TIMEOUT)
            .await
    }

    async fn download_file(
        &self,
        file_path: &str,
        max_bytes: u64,
    ) -> Result<Vec<u8>, TelegramError> {
        const METHOD: &str = "file download";
        let url = format!(
            "{}/file/bot{}/{}",
            self.base_url,
            self.token,
            file_path.trim_start_matches('/')
        );
        let mut response = self
            .http
            .get(url)
            .timeout(REQUEST_TIMEOUT * 2)
            .send()
            .await
            .map_err(|e| self.transport(METHOD, e))?;
        let status = response.status();
        if !status.is_success() {
            // File downloads answer errors with the same JSON envelope when they can.
            return Err(
                match self.decode::<serde_json::Value>(METHOD, response).await {
                    Err(e @ TelegramError::Api { .. }) => e,
                    _ => TelegramError::Api {
                        method: METHOD,
                        code: i64::from(status.as_u16()),
                        description: status.canonical_reason().unwrap_or("error").to_string(),
                        retry_after: None,
                    },
                },
            );
        }
        if response.content_length().is_some_and(|len| len > max_bytes) {
            return Err(TelegramError::FileTooLarge { limit: max_bytes });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport(METHOD, e))?
        {
            if (bytes.len() + chunk.len()) as u64 > max_bytes {
                return Err(TelegramError::FileTooLarge { limit: max_bytes });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}

/// `ReplyParameters` that still send when the message replied to was deleted.
fn reply_parameters(message_id: i64) -> serde_json::Value {
    json!({ "message_id": message_id, "allow_sending_without_reply": true })
}
