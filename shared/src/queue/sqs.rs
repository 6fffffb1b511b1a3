//! The update queue on an SQS FIFO queue: `SendMessageBatch`, message group = chat, deduplication
//! id = update id.

use async_trait::async_trait;

use crate::error::{BackendError, Retry};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use super::{QueueError, QueuedUpdate, SendOutcome, UpdateQueue};

pub use super::{MAX_BATCH, MAX_BATCH_BYTES};

#[derive(Clone, Debug)]
pub struct SqsUpdateQueue {
    client: Client,
    queue_url: String,
}

impl SqsUpdateQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> SqsUpdateQueue {
        SqsUpdateQueue {
            client,
            queue_url: queue_url.into(),
        }
    }
}

#[async_trait]
impl UpdateQueue for SqsUpdateQueue {
    async fn send(&self, updates: &[QueuedUpdate]) -> Result<SendOutcome, QueueError> {
        if updates.is_empty() {
            return Ok(SendOutcome::default());
        }
        let entries = updates
            .iter()
            .map(|u| {
                SendMessageBatchRequestEntry::builder()
                    .id(u.update_id.to_string())
                    .message_body(&u.body)
                    .message_group_id(&u.group_id)
                    .message_deduplication_id(u.update_id.to_string())
                    .build()
                    .map_err(|e| BackendError::new("SendMessageBatch entry", Retry::Permanent, e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let output = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| BackendError::sdk("SendMessageBatch", e))?;
        let id = |text: &str| text.parse::<i64>().unwrap_or_default();
        Ok(SendOutcome {
            accepted: output.successful.iter().map(|s| id(&s.id)).collect(),
            rejected: output
                .failed
                .iter()
                .map(|f| {
                    (
                        id(&f.id),
                        format!("{}: {}", f.code, f.message.clone().unwrap_or_default()),
                    )
                })
                .collect(),
        })
    }
}
