//! The update queue port: raw Telegram updates on their way from the poller to the command role,
//! ordered per chat and deduplicated by update id.

#[cfg(feature = "testing")]
pub mod memory;
#[cfg(feature = "embedded")]
pub mod sqlite;
#[cfg(feature = "aws")]
pub mod sqs;

use async_trait::async_trait;

use crate::domain::update_text::{UnreadableUpdate, read_update};
use crate::error::BackendError;

/// One raw update, ready to queue.
/// The most updates one send takes: SQS's limit on entries in one `SendMessageBatch`, which every
/// queue keeps to so that the poller batches alike whatever holds its updates.
pub const MAX_BATCH: usize = 10;
/// SQS's limit on a whole batch's bodies (256 KiB), likewise.
pub const MAX_BATCH_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedUpdate {
    pub update_id: i64,
    /// Updates of one group are delivered in order (the chat they belong to).
    pub group_id: String,
    /// The update's JSON exactly as Telegram sent it.
    pub body: String,
}

/// Why text that came as an update cannot go on the queue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAnUpdate {
    #[error(transparent)]
    Unreadable(#[from] UnreadableUpdate),
    #[error("no update_id")]
    NoUpdateId,
}

impl QueuedUpdate {
    /// An update's text as Telegram sent it (from `getUpdates` or a webhook POST), ready to
    /// queue: the text goes on unchanged, since the command role reads it the same way.
    pub fn from_text(text: &str) -> Result<QueuedUpdate, NotAnUpdate> {
        let read = read_update(text)?;
        let update_id = read
            .update
            .get("update_id")
            .and_then(serde_json::Value::as_i64)
            .ok_or(NotAnUpdate::NoUpdateId)?;
        Ok(QueuedUpdate {
            update_id,
            group_id: group_for(&read.update),
            body: text.to_string(),
        })
    }
}

/// Which updates of a batch the queue took.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendOutcome {
    pub accepted: Vec<i64>,
    /// Update id and the queue's reason.
    pub rejected: Vec<(i64, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("the update queue failed: {0}")]
    Backend(#[from] BackendError),
}

#[async_trait]
pub trait UpdateQueue: Send + Sync {
    /// Queues a batch (at most [`MAX_BATCH`] updates); a whole-call failure is an error,
    /// per-update refusals are reported in the outcome.
    async fn send(&self, updates: &[QueuedUpdate]) -> Result<SendOutcome, QueueError>;
}

/// The chat an update belongs to, as its message group: `chat.id` of whatever the update carries
/// (message, edit, channel post, callback query's message, membership change), else the sender,
/// else one shared group.
pub fn group_for(update: &serde_json::Value) -> String {
    let Some(payload) = update.as_object().and_then(|o| {
        o.iter()
            .find(|(k, v)| *k != "update_id" && v.is_object())
            .map(|(_, v)| v)
    }) else {
        return "updates".to_string();
    };
    let chat = payload
        .get("chat")
        .or_else(|| payload.get("message").and_then(|m| m.get("chat")))
        .and_then(|c| c.get("id"))
        .and_then(serde_json::Value::as_i64);
    if let Some(chat) = chat {
        return format!("chat{chat}");
    }
    match payload
        .get("from")
        .and_then(|f| f.get("id"))
        .and_then(serde_json::Value::as_i64)
    {
        Some(user) => format!("user{user}"),
        None => "updates".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{NotAnUpdate, QueuedUpdate, group_for};
    use serde_json::json;

    #[test]
    fn an_update_is_queued_as_sent_and_anything_else_is_named() {
        let text = r#"{"update_id": 9, "message": {"chat": {"id": 3}, "text": "hi"}}"#;
        let queued = QueuedUpdate::from_text(text).unwrap();
        assert_eq!(
            (
                queued.update_id,
                queued.group_id.as_str(),
                queued.body.as_str()
            ),
            (9, "chat3", text)
        );
        assert_eq!(
            QueuedUpdate::from_text(r#"{"message": {}}"#),
            Err(NotAnUpdate::NoUpdateId)
        );
        assert_eq!(QueuedUpdate::from_text("[9]"), Err(NotAnUpdate::NoUpdateId));
        assert!(matches!(
            QueuedUpdate::from_text("{not json"),
            Err(NotAnUpdate::Unreadable(_))
        ));
    }

    #[test]
    fn updates_are_grouped_by_their_chat() {
        let message =
            json!({"update_id": 1, "message": {"chat": {"id": -1001}, "from": {"id": 5}}});
        assert_eq!(group_for(&message), "chat-1001");
        let callback = json!({"update_id": 2, "callback_query": {"from": {"id": 5}, "message": {"chat": {"id": 7}}}});
        assert_eq!(group_for(&callback), "chat7");
        let inline = json!({"update_id": 3, "inline_query": {"from": {"id": 5}, "query": "x"}});
        assert_eq!(group_for(&inline), "user5");
        assert_eq!(group_for(&json!({"update_id": 4})), "updates");
    }
}
