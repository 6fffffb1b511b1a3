//! A voice message heard before the decision: the recording is fetched from Telegram and sent to
//! the transcription service, whose words become the chat message. Nothing here is stored; a
//! failure is a reply (the update is done), logged with its cause.

use std::time::Duration;

use tokio::time::Instant;

use crate::domain::update::VoiceRef;
use crate::domain::voice::{Heard, MAX_VOICE_BYTES, MAX_VOICE_SECONDS};
use crate::telegram::{Telegram, TelegramError};
use crate::transcriber::{Audio, Transcriber};

/// Time kept back from the invocation's deadline after hearing: to decide, record and reply.
const RESERVE: Duration = Duration::from_secs(20);

/// What `voice` says, heard before `deadline` (a Lambda invocation's end) less [`RESERVE`]: a
/// service slower than that is a failure the user is told of, not a timed-out invocation whose
/// redelivery would send the recording again.
pub async fn hear(
    telegram: &dyn Telegram,
    transcriber: Option<&dyn Transcriber>,
    voice: &VoiceRef,
    deadline: Option<Instant>,
) -> Heard {
    let Some(transcriber) = transcriber else {
        return Heard::NoTranscriber;
    };
    if voice.duration > MAX_VOICE_SECONDS || voice.file_size.unwrap_or(0) > MAX_VOICE_BYTES {
        return Heard::TooLong;
    }
    let bytes = match telegram.fetch_file(&voice.file_id, MAX_VOICE_BYTES).await {
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
    let heard = match deadline.map(|d| d.checked_sub(RESERVE).unwrap_or_else(Instant::now)) {
        Some(by) => tokio::time::timeout_at(by, transcriber.transcribe(audio)).await,
        None => Ok(transcriber.transcribe(audio).await),
    };
    match heard {
        Ok(Ok(words)) if words.trim().is_empty() => Heard::Silence,
        Ok(Ok(words)) => Heard::Words(words.trim().to_string()),
        Ok(Err(error)) => {
            tracing::warn!(%error, "a voice message could not be transcribed");
            Heard::Failed
        }
        Err(_) => {
            tracing::warn!("the transcription would outlast the invocation; given up");
            Heard::Failed
        }
    }
}
