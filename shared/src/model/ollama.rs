//! Ollama's API: `POST /api/chat` streaming NDJSON (`{"message": {"content": ...}, "done": false}`
//! lines, then a final `done: true` line with `done_reason` and counts, or an `{"error": ...}`
//! line), `GET /api/tags`, `GET /api/version` and `POST /api/show` (a model's `capabilities`,
//! `vision` among them). Errors come as `{"error": "..."}` with an HTTP
//! status (404 for a model the server does not have).

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use super::lines::{Line, LineStream, http_client, join};
use super::{AnswerStream, ChatRequest, ModelBackend, ModelError};
use crate::domain::usage::TokenUsage;

pub const DEFAULT_URL: &str = "http://localhost:11434";

pub struct Ollama {
    http: reqwest::Client,
    base_url: String,
}

impl Ollama {
    pub fn new(base_url: impl Into<String>) -> Ollama {
        Ollama {
            http: http_client(),
            base_url: base_url.into(),
        }
    }

    fn unreachable(&self, error: reqwest::Error) -> ModelError {
        ModelError::Unreachable {
            url: self.base_url.clone(),
            source: std::sync::Arc::new(error.without_url()),
        }
    }

    /// A short request's status and whole body (the model listings and details, not chats).
    async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(reqwest::StatusCode, bytes::Bytes), ModelError> {
        let response = request
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| self.unreachable(e))?;
        Ok((status, body))
    }

    async fn get<T: for<'de> Deserialize<'de>>(&self, path: &str) -> Result<T, ModelError> {
        let (status, body) = self
            .exchange(self.http.get(join(&self.base_url, path)))
            .await?;
        if !status.is_success() {
            return Err(ModelError::Backend(format!(
                "{path}: HTTP {status}: {}",
                error_text(&body)
            )));
        }
        serde_json::from_slice(&body).map_err(|e| ModelError::Decode(format!("{path}: {e}")))
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

/// The `error` of an Ollama error body, or the body itself.
fn error_text(body: &[u8]) -> String {
    serde_json::from_slice::<ErrorBody>(body)
        .map(|e| e.error)
        .unwrap_or_else(|_| String::from_utf8_lossy(body).chars().take(300).collect())
}

#[derive(Deserialize)]
struct Tags {
    models: Vec<Tag>,
}

#[derive(Deserialize)]
struct Tag {
    name: String,
}

#[derive(Deserialize)]
struct Version {
    version: String,
}

/// The part of `/api/show`'s answer the bot reads. Servers older than capabilities omit it.
#[derive(Deserialize)]
struct Show {
    capabilities: Option<Vec<String>>,
}

/// One line of a streamed chat.
#[derive(Deserialize)]
struct ChatLine {
    message: Option<LineMessage>,
    #[serde(default)]
    done: bool,
    error: Option<String>,
    /// On the last line: the prompt's and the answer's tokens, and why it stopped (`stop`, or
    /// `length` at `num_predict`).
    prompt_eval_count: Option<u64>,
    eval_count: Option<u64>,
    done_reason: Option<String>,
}

#[derive(Deserialize)]
struct LineMessage {
    #[serde(default)]
    content: String,
}

/// One NDJSON line of `/api/chat`: a chunk, the final `done: true` chunk, or an error.
fn parse_line(line: &str) -> Line {
    if line.trim().is_empty() {
        return Line::Skip;
    }
    let parsed: ChatLine = match serde_json::from_str(line) {
        Ok(parsed) => parsed,
        Err(e) => return Line::Failed(ModelError::Decode(format!("a chat line: {e}"))),
    };
    if let Some(error) = parsed.error {
        return Line::Failed(ModelError::Backend(error));
    }
    let content = parsed.message.map(|m| m.content).unwrap_or_default();
    if parsed.done {
        let tokens = match (parsed.prompt_eval_count, parsed.eval_count) {
            (None, None) => None,
            (prompt, answer) => Some(TokenUsage {
                prompt: prompt.unwrap_or(0),
                answer: answer.unwrap_or(0),
            }),
        };
        Line::Final {
            text: content,
            tokens,
            cut: parsed.done_reason.as_deref() == Some("length"),
        }
    } else if content.is_empty() {
        Line::Skip
    } else {
        Line::Text(content)
    }
}

#[async_trait]
impl ModelBackend for Ollama {
    fn kind(&self) -> &'static str {
        "Ollama"
    }

    async fn chat(&self, request: &ChatRequest) -> Result<Box<dyn AnswerStream>, ModelError> {
        let mut body =
            json!({ "model": request.model, "messages": request.messages, "stream": true });
        if let Some(max_tokens) = request.max_tokens {
            body["options"] = json!({ "num_predict": max_tokens });
        }
        let response = self
            .http
            .post(join(&self.base_url, "/api/chat"))
            .json(&body)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.bytes().await.unwrap_or_default();
            let detail = error_text(&body);
            return Err(if status == reqwest::StatusCode::NOT_FOUND {
                ModelError::UnknownModel {
                    model: request.model.clone(),
                    detail,
                }
            } else {
                ModelError::Backend(format!("HTTP {status}: {detail}"))
            });
        }
        Ok(Box::new(LineStream::new(response, parse_line)))
    }

    async fn models(&self) -> Result<Vec<String>, ModelError> {
        let tags: Tags = self.get("/api/tags").await?;
        Ok(tags.models.into_iter().map(|m| m.name).collect())
    }

    async fn version(&self) -> Result<Option<String>, ModelError> {
        let version: Version = self.get("/api/version").await?;
        Ok(Some(version.version))
    }

    async fn sees_images(&self, model: &str) -> Result<Option<bool>, ModelError> {
        let show = self
            .http
            .post(join(&self.base_url, "/api/show"))
            .json(&json!({ "model": model }));
        let (status, body) = self.exchange(show).await?;
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(ModelError::UnknownModel {
                model: model.to_string(),
                detail: error_text(&body),
            });
        }
        if !status.is_success() {
            return Err(ModelError::Backend(format!(
                "/api/show: HTTP {status}: {}",
                error_text(&body)
            )));
        }
        let show: Show = serde_json::from_slice(&body)
            .map_err(|e| ModelError::Decode(format!("/api/show: {e}")))?;
        Ok(show
            .capabilities
            .map(|capabilities| capabilities.iter().any(|c| c == "vision")))
    }
}
