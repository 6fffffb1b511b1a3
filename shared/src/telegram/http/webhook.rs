//! Registering a webhook with the Bot API (`setWebhook`, `deleteWebhook`, `getWebhookInfo`): the
//! one-process bot's own start and stop, not a port the handlers use.

use serde::Deserialize;
use serde_json::json;

use super::HttpTelegram;
use crate::telegram::TelegramError;

/// The update kinds the bot handles: Telegram sends a webhook nothing else.
pub const ALLOWED_UPDATES: &[&str] = &["message"];

/// What `getWebhookInfo` tells (the parts the bot uses).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct WebhookInfo {
    /// Empty when no webhook is set.
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub pending_update_count: i64,
    pub last_error_message: Option<String>,
}

/// A webhook to register: where, with which secret, and how many requests at once.
pub struct WebhookRegistration<'a> {
    pub url: &'a str,
    pub secret: &'a str,
    pub max_connections: u32,
}

impl HttpTelegram {
    pub async fn get_webhook_info(&self) -> Result<WebhookInfo, TelegramError> {
        self.call("getWebhookInfo", json!({}), super::REQUEST_TIMEOUT)
            .await
    }

    /// Sets the webhook; updates waiting at Telegram are kept and sent to it.
    pub async fn set_webhook(
        &self,
        webhook: &WebhookRegistration<'_>,
    ) -> Result<(), TelegramError> {
        self.call_done(
            "setWebhook",
            json!({
                "url": webhook.url,
                "secret_token": webhook.secret,
                "allowed_updates": ALLOWED_UPDATES,
                "max_connections": webhook.max_connections,
                "drop_pending_updates": false,
            }),
        )
        .await
    }

    /// Removes the webhook; updates waiting at Telegram are kept (for `getUpdates` or the next
    /// webhook).
    pub async fn delete_webhook(&self) -> Result<(), TelegramError> {
        self.call_done("deleteWebhook", json!({ "drop_pending_updates": false }))
            .await
    }
}
