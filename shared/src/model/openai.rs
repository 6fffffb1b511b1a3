//! OpenAI-compatible servers (llama.cpp's server, vLLM, LM Studio, OpenAI):
//! `POST /v1/chat/completions` with `stream: true` answers server-sent events
//! (`data: {"choices": [{"delta": {"content": ...}}]}` … `data: [DONE]`); `GET /v1/models` lists
//! `{"data": [{"id": ...}]}`. Errors come as `{"error": {"message": ...}}`.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use super::lines::{Line, LineStream, http_client, join};
use super::{AnswerStream, ChatRequest, ModelBackend, ModelError, ModelMessage};
use crate::config::Secret;
use crate::domain::backend::WindowExceeded;
use crate::domain::usage::TokenUsage;

pub struct OpenAiCompatible {
    http: reqwest::Client,
    /// Up to and including `/v1` (e.g. `http://localhost:8080/v1`).
    base_url: String,
    api_key: Option<Secret>,
}

impl OpenAiCompatible {
    pub fn new(base_url: impl Into<String>, api_key: Option<Secret>) -> OpenAiCompatible {
        OpenAiCompatible {
            http: http_client(),
            base_url: base_url.into(),
            api_key,
        }
    }

    fn request(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.api_key {
            Some(key) => builder.bearer_auth(key.expose()),
            None => builder,
        }
    }

    fn unreachable(&self, error: reqwest::Error) -> ModelError {
        ModelError::Unreachable {
            url: self.base_url.clone(),
            source: std::sync::Arc::new(error.without_url()),
        }
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    message: String,
    code: Option<serde_json::Value>,
}

fn error_detail(body: &[u8]) -> (String, Option<String>) {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => (
            e.error.message,
            e.error
                .code
                .map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_string)),
        ),
        Err(_) => (
            String::from_utf8_lossy(body).chars().take(300).collect(),
            None,
        ),
    }
}

/// llama.cpp's refusal of a prompt over its context window: HTTP 400 with `type`
/// `exceed_context_size_error` and the prompt's and the window's sizes in tokens.
fn window_exceeded(body: &[u8]) -> Option<WindowExceeded> {
    #[derive(Deserialize)]
    struct Refusal {
        error: Exceeded,
    }
    #[derive(Deserialize)]
    struct Exceeded {
        r#type: String,
        n_prompt_tokens: u64,
        n_ctx: u64,
    }
    let refusal = serde_json::from_slice::<Refusal>(body).ok()?.error;
    (refusal.r#type == "exceed_context_size_error").then_some(WindowExceeded {
        prompt_tokens: refusal.n_prompt_tokens,
        window_tokens: refusal.n_ctx,
    })
}

#[derive(Deserialize)]
struct Models {
    data: Vec<ModelEntry>,
}

#[derive(Deserialize)]
struct ModelEntry {
    id: String,
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    error: Option<ErrorDetail>,
    /// With `stream_options.include_usage`: on the last chunk before `[DONE]`.
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
}

#[derive(Deserialize)]
struct Choice {
    delta: Option<Delta>,
    /// `stop`, or `length` at `max_tokens`, on the choice's last chunk.
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    content: Option<String>,
}

/// One server-sent-events line of `/chat/completions`: a `data:` chunk, `data: [DONE]`, or an
/// error; comments (`: ping`), event names and blank separators carry no text.
fn parse_line(line: &str) -> Line {
    let Some(data) = line.strip_prefix("data:") else {
        return Line::Skip;
    };
    let data = data.trim();
    if data == "[DONE]" {
        return Line::Last(String::new());
    }
    let chunk: Chunk = match serde_json::from_str(data) {
        Ok(chunk) => chunk,
        Err(e) => return Line::Failed(ModelError::Decode(format!("an event: {e}"))),
    };
    if let Some(error) = chunk.error {
        return Line::Failed(ModelError::Backend(error.message));
    }
    if let (Some(usage), true) = (&chunk.usage, chunk.choices.is_empty()) {
        return Line::Usage(TokenUsage {
            prompt: usage.prompt_tokens,
            answer: usage.completion_tokens,
        });
    }
    let cut = chunk
        .choices
        .iter()
        .any(|c| c.finish_reason.as_deref() == Some("length"));
    let text: String = chunk
        .choices
        .into_iter()
        .filter_map(|c| c.delta.and_then(|d| d.content))
        .collect();
    match (text.is_empty(), cut) {
        (true, false) => Line::Skip,
        (true, true) => Line::Cut,
        // Servers end with an empty delta; a last word on the same chunk is kept, and the limit
        // still shows by the answer's length.
        (false, _) => Line::Text(text),
    }
}

/// A message as `/chat/completions` takes it: plain text, or with photos a list of content parts
/// (the text, then each photo as an `image_url` data URL).
fn message_json(message: &ModelMessage) -> serde_json::Value {
    if message.images.is_empty() {
        return json!({ "role": message.role, "content": message.content });
    }
    let mut parts = vec![json!({ "type": "text", "text": message.content })];
    parts.extend(message.images.iter().map(|image| {
        json!({ "type": "image_url",
                "image_url": { "url": format!("data:image/jpeg;base64,{image}") } })
    }));
    json!({ "role": message.role, "content": parts })
}

#[async_trait]
impl ModelBackend for OpenAiCompatible {
    fn kind(&self) -> &'static str {
        "OpenAI-compatible server"
    }

    async fn chat(&self, request: &ChatRequest) -> Result<Box<dyn AnswerStream>, ModelError> {
        // Usage (counted against a user's daily tokens) comes on a last chunk when asked for.
        let messages: Vec<serde_json::Value> = request.messages.iter().map(message_json).collect();
        let mut body = json!({ "model": request.model, "messages": messages, "stream": true,
                               "stream_options": {"include_usage": true} });
        if let Some(max_tokens) = request.max_tokens {
            body["max_tokens"] = json!(max_tokens);
        }
        let response = self
            .request(
                self.http
                    .post(join(&self.base_url, "/chat/completions"))
                    .json(&body),
            )
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.bytes().await.unwrap_or_default();
            if let Some(exceeded) = window_exceeded(&body) {
                return Err(ModelError::WindowExceeded(exceeded));
            }
            let (message, code) = error_detail(&body);
            return Err(
                if status == reqwest::StatusCode::NOT_FOUND
                    || code.as_deref() == Some("model_not_found")
                {
                    ModelError::UnknownModel {
                        model: request.model.clone(),
                        detail: message,
                    }
                } else {
                    ModelError::Backend(format!("HTTP {status}: {message}"))
                },
            );
        }
        Ok(Box::new(LineStream::new(response, parse_line)))
    }

    async fn models(&self) -> Result<Vec<String>, ModelError> {
        let response = self
            .request(
                self.http
                    .get(join(&self.base_url, "/models"))
                    .timeout(std::time::Duration::from_secs(10)),
            )
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| self.unreachable(e))?;
        if !status.is_success() {
            return Err(ModelError::Backend(format!(
                "/models: HTTP {status}: {}",
                error_detail(&body).0
            )));
        }
        let models: Models = serde_json::from_slice(&body)
            .map_err(|e| ModelError::Decode(format!("/models: {e}")))?;
        Ok(models.data.into_iter().map(|m| m.id).collect())
    }

    async fn version(&self) -> Result<Option<String>, ModelError> {
        Ok(None)
    }
}
