//! The photos of an answer's conversation, fetched from Telegram for a model that sees them: the
//! newest few, by their `file_id` (the bot keeps references, never the bytes). A photo Telegram
//! no longer serves is left out, and the model still gets its caption.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::domain::events::ChatMessage;
use crate::domain::update::MAX_PHOTO_BYTES;
use crate::domain::vision::photos_to_send;
use crate::model::ModelMessage;
use crate::telegram::Telegram;

/// Puts the chosen photos of `context` into `messages` (the same messages, in order, after
/// `offset` leading ones such as the system prompt), base64-encoded.
pub async fn attach_photos(
    telegram: &dyn Telegram,
    context: &[ChatMessage],
    messages: &mut [ModelMessage],
    offset: usize,
) {
    for index in photos_to_send(context) {
        let Some(image) = &context[index].image else {
            continue;
        };
        match telegram.fetch_file(&image.file_id, MAX_PHOTO_BYTES).await {
            Ok(bytes) => messages[offset + index].images.push(STANDARD.encode(bytes)),
            Err(error) => {
                // The file_id may have expired or belong to another bot (an imported archive).
                tracing::warn!(%error, file_id = %image.file_id, "a photo could not be fetched for the model; its caption goes alone");
            }
        }
    }
}
