//! The model backend port: a streamed chat completion, the models the backend has, and its
//! version. Adapters: [`ollama`] (`/api/chat` NDJSON) and [`openai`] (`/v1/chat/completions` SSE).

pub mod lines;
#[cfg(feature = "testing")]
pub mod memory;
pub mod ollama;
pub mod openai;

use async_trait::async_trait;
use serde::Serialize;

use crate::domain::backend::WindowExceeded;
use crate::domain::events::Role;
use crate::domain::usage::TokenUsage;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ModelError {
    /// The backend could not be reached (down, refused, timed out before answering); the HTTP
    /// client's error is kept as the source (without the URL, which is given once).
    #[error("the model backend at {url} cannot be reached: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: std::sync::Arc<reqwest::Error>,
    },
    /// The backend does not have the model.
    #[error("the model backend has no model {model:?}: {detail}")]
    UnknownModel { model: String, detail: String },
    /// The backend answered with an error (an HTTP error, or an error in the middle of a stream).
    #[error("the model backend failed: {0}")]
    Backend(String),
    /// The conversation is over the model's context window, by the server's own count.
    #[error(
        "the conversation ({} tokens) is over the model's context window ({} tokens)",
        .0.prompt_tokens,
        .0.window_tokens
    )]
    WindowExceeded(WindowExceeded),
    /// The backend's answer was not in its documented shape.
    #[error("the model backend's answer was not understood: {0}")]
    Decode(String),
}

/// One message of the conversation sent to the model (serialised as Ollama's `/api/chat` takes
/// it; the OpenAI adapter makes content parts of the images).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelMessage {
    pub role: &'static str,
    pub content: String,
    /// JPEG photos (Telegram sends photos as JPEG), base64-encoded, for a model that sees them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
}

impl ModelMessage {
    pub fn new(role: Role, content: impl Into<String>) -> ModelMessage {
        ModelMessage {
            role: role.as_str(),
            content: content.into(),
            images: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<ModelMessage>,
    /// The most tokens the answer may take (`MAX_ANSWER_TOKENS`; `None`: the backend's own).
    pub max_tokens: Option<u32>,
}

/// An answer arriving piece by piece.
#[async_trait]
pub trait AnswerStream: Send {
    /// The next piece of text; `None` once the model is done.
    async fn next(&mut self) -> Option<Result<String, ModelError>>;
    /// The tokens the answer took, once done, if the backend said.
    fn usage(&self) -> Option<TokenUsage> {
        None
    }
    /// Whether the backend stopped the answer at its length limit, once done.
    fn cut(&self) -> bool {
        false
    }
}

#[async_trait]
pub trait ModelBackend: Send + Sync {
    /// What to call the backend in replies ("Ollama", "OpenAI-compatible server").
    fn kind(&self) -> &'static str;
    /// Starts a streamed answer. Fails at once when the backend is down or lacks the model.
    async fn chat(&self, request: &ChatRequest) -> Result<Box<dyn AnswerStream>, ModelError>;
    /// The names of the models the backend can run.
    async fn models(&self) -> Result<Vec<String>, ModelError>;
    /// The backend's version, when its API tells it.
    async fn version(&self) -> Result<Option<String>, ModelError>;
    /// Whether `model` takes images, when the backend's API tells it (`Ok(None)` when it cannot
    /// say: then configuration decides).
    async fn sees_images(&self, model: &str) -> Result<Option<bool>, ModelError> {
        let _ = model;
        Ok(None)
    }
}

pub use crate::domain::backend::resolve_model;
