//! A voice message heard before the decision: the recording is fetched from Telegram and sent to
//! the transcription service, whose words become the chat message. Nothing here is stored; a
//! failure is a reply (the update is done), logged with its cause.

use crate::domain::update::VoiceRef;
use crate::domain::voice::{Heard, MAX_VOICE_BYTES, MAX_VOICE_SECONDS};
use crate::telegram::{Telegram, TelegramError};
use crate::transcriber::{Audio, Transcriber};

pub async fn hear(
    telegram: &dyn Telegram,
    transcriber: Option<&dyn Transcriber>,
    voice: &VoiceRef,
) -> Heard {
    let Some(transcriber) = transcriber else {
        return Heard::NoTranscriber;
    };
    if voice.duration > MAX_VOICE_SECONDS || voice.file_size.unwrap_or(0) > MAX_VOICE_BYTES {
        return Heard::TooLong;
    }
    let bytes = match fetch(telegram, &voice.file_id).await {
        Ok(bytes) => bytes,
        Err(TelegramError::FileTooLarge { .. }) => return Heard::TooLong,
        Err(error) => {
            tracing::warn!(%error, "a voice message could not be fetched");
            return Heard::Failed;
        }
    };
    let audio = Audio {
        bytes,
        file_name: "voice.ogg".into(),
        mime_type: voice
            .mime_type
            .clone()
            .unwrap_or_else(|| "audio/ogg".into()),
    };
    match transcriber.transcribe(audio).await {
        Ok(words) if words.trim().is_empty() => Heard::Silence,
        Ok(words) => Heard::Words(words.trim().to_string()),
        Err(error) => {
            tracing::warn!(%error, "a voice message could not be transcribed");
            Heard::Failed
        }
    }
}

async fn fetch(telegram: &dyn Telegram, file_id: &str) -> Result<Vec<u8>, TelegramError> {
    let file = telegram.get_file(file_id).await?;
    let path = file.file_path.ok_or(TelegramError::FileTooLarge {
        limit: MAX_VOICE_BYTES,
    })?;
    telegram.download_file(&path, MAX_VOICE_BYTES).await
}
