//! OpenAI's speech-to-text API: `POST {base}/audio/transcriptions`, multipart with `file` and
//! `model` (and `response_format=json`), answered `{"text": "..."}`; errors come as
//! `{"error": {"message": ...}}`.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::{Audio, TranscribeError, Transcriber};
use crate::config::Secret;
use crate::model::lines::{http_client, join};

/// How long a transcription may take: a few minutes of speech take seconds on a GPU, a minute
/// or more on a small CPU.
const TIMEOUT: Duration = Duration::from_secs(120);

pub struct OpenAiTranscriber {
    http: reqwest::Client,
    /// Up to and including `/v1`.
    base_url: String,
    model: String,
    api_key: Option<Secret>,
}

impl OpenAiTranscriber {
    pub fn new(
        base_url: impl Into<String>,
        model: impl Into<String>,
        api_key: Option<Secret>,
    ) -> OpenAiTranscriber {
        OpenAiTranscriber {
            http: http_client(),
            base_url: base_url.into(),
            model: model.into(),
            api_key,
        }
    }

    fn unreachable(&self, error: reqwest::Error) -> TranscribeError {
        TranscribeError::Unreachable {
            url: self.base_url.clone(),
            source: std::sync::Arc::new(error.without_url()),
        }
    }
}

#[derive(Deserialize)]
struct Transcription {
    text: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    message: String,
}

#[async_trait]
impl Transcriber for OpenAiTranscriber {
    async fn transcribe(&self, audio: Audio) -> Result<String, TranscribeError> {
        let file = reqwest::multipart::Part::bytes(audio.bytes)
            .file_name(audio.file_name)
            .mime_str(&audio.mime_type)
            .map_err(|e| TranscribeError::Service(format!("the audio's type: {e}")))?;
        let form = reqwest::multipart::Form::new()
            .part("file", file)
            .text("model", self.model.clone())
            .text("response_format", "json");
        let mut request = self
            .http
            .post(join(&self.base_url, "/audio/transcriptions"))
            .multipart(form)
            .timeout(TIMEOUT);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key.expose());
        }
        let response = request.send().await.map_err(|e| self.unreachable(e))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| self.unreachable(e))?;
        if !status.is_success() {
            let detail = serde_json::from_slice::<ErrorBody>(&body).map_or_else(
                |_| String::from_utf8_lossy(&body).chars().take(300).collect(),
                |e| e.error.message,
            );
            return Err(TranscribeError::Service(format!("HTTP {status}: {detail}")));
        }
        let transcription: Transcription = serde_json::from_slice(&body)
            .map_err(|e| TranscribeError::Decode(format!("/audio/transcriptions: {e}")))?;
        Ok(transcription.text)
    }
}
