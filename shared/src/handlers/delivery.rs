//! Sending replies: long texts split to Telegram's limit, archives fetched and sent as files,
//! 429s waited out, and permanent refusals (a user who blocked the bot) logged, not retried.

use std::time::Duration;

use crate::archive::ArchiveStore;
use crate::domain::decide::Reply;
use crate::telegram::text::{MAX_CAPTION_UTF16, MAX_MESSAGE_UTF16, split, truncate};
use crate::telegram::{SentMessage, Telegram, TelegramError};

use super::command::HandleError;

/// The longest `retry_after` waited out in place; longer ones fail the update for redelivery.
const MAX_WAIT: Duration = Duration::from_secs(30);
const ATTEMPTS: u32 = 4;

pub(super) async fn deliver(
    telegram: &dyn Telegram,
    archives: &dyn ArchiveStore,
    chat_id: i64,
    reply: &Reply,
) -> Result<(), HandleError> {
    match reply {
        Reply::Text { text } => {
            for piece in split(text, MAX_MESSAGE_UTF16) {
                with_retries(|| telegram.send_message(chat_id, &piece)).await?;
            }
        }
        Reply::ArchiveFile {
            s3_key,
            file_name,
            caption,
        } => match archives.get(s3_key).await? {
            Some(bytes) => {
                let caption = truncate(caption, MAX_CAPTION_UTF16);
                with_retries(|| {
                    telegram.send_document(chat_id, file_name, bytes.clone(), &caption)
                })
                .await?;
            }
            None => {
                tracing::error!(key = %s3_key, "an archive named in the stream is missing from the archive store");
                let text = "That archive's file is missing from storage, so I can't send it. Nothing else was changed.";
                with_retries(|| telegram.send_message(chat_id, text)).await?;
            }
        },
    }
    Ok(())
}

async fn with_retries<F, Fut>(mut send: F) -> Result<(), HandleError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<SentMessage, TelegramError>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match send().await {
            Ok(_) => return Ok(()),
            Err(error) if !error.is_transient() => {
                // Retrying cannot help (blocked bot, deleted chat, bad request): drop this reply
                // so the rest of the update's work is not held up forever.
                tracing::warn!(%error, "Telegram refused a reply; it is dropped");
                return Ok(());
            }
            Err(error) => {
                let wait = error.retry_after().map_or(
                    Duration::from_millis(500 * u64::from(attempt)),
                    Duration::from_secs,
                );
                if attempt >= ATTEMPTS || wait > MAX_WAIT {
                    return Err(HandleError::Telegram(error));
                }
                tracing::info!(%error, wait_ms = wait.as_millis() as u64, "waiting before sending again");
                tokio::time::sleep(wait).await;
            }
        }
    }
}
