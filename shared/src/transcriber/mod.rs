//! The speech-to-text port: a voice message's audio in, its text out. Adapter: [`openai`]
//! (`POST /v1/audio/transcriptions`, which OpenAI, whisper.cpp's server, faster-whisper servers
//! and LocalAI speak).

pub mod openai;

use async_trait::async_trait;

#[derive(Debug, Clone, thiserror::Error)]
pub enum TranscribeError {
    /// The service could not be reached or did not answer in time; the HTTP client's error is
    /// kept as the source (without the URL, which is given once).
    #[error("the transcription service at {url} cannot be reached: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: std::sync::Arc<reqwest::Error>,
    },
    /// The service answered with an error.
    #[error("the transcription service failed: {0}")]
    Service(String),
    /// The service's answer was not in its documented shape.
    #[error("the transcription service's answer was not understood: {0}")]
    Decode(String),
}

/// One recording to transcribe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audio {
    pub bytes: Vec<u8>,
    /// With the extension the service goes by (`voice.ogg`: Telegram's voice messages are Opus
    /// in OGG).
    pub file_name: String,
    pub mime_type: String,
}

#[async_trait]
pub trait Transcriber: Send + Sync {
    /// The words spoken in `audio`.
    async fn transcribe(&self, audio: Audio) -> Result<String, TranscribeError>;
}
