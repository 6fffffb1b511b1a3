//! The update queue port: raw Telegram updates on their way from the poller to the command role,
//! ordered per chat and deduplicated by update id.

#[cfg(feature = "testing")]
pub mod memory;
#[cfg(feature = "embedded")]
pub mod sqlite;
#[cfg(feature = "aws")]
pub mod sqs;

use async_trait::async_trait;

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
    use super::group_for;
    use serde_json::json;

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
