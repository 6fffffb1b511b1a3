//! A local model server that follows Ollama's documented API — `POST /api/chat` streaming NDJSON
//! (chunks, then a final `done: true` chunk with `done_reason` and counts; or an `{"error": ...}`
//! line mid-stream), non-streaming replies, `GET /api/tags`, `GET /api/version`, `POST /api/show`
//! (`capabilities`, with `vision` for the models that see images), and
//! `404 {"error": "model \"x\" not found, try pulling it first"}` — and the OpenAI-compatible
//! `POST /v1/chat/completions` (server-sent events ending in `data: [DONE]`; images as
//! `image_url` content parts) and `GET /v1/models`. Images sent to a model that does not see them
//! fail as Ollama fails them. Answers are scripted per test; without a script it answers
//! `Echo: <last message>`, with `[N photos]` when that message came with images.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// How a scripted answer ends.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// The final `done: true` chunk (or `[DONE]`).
    Done,
    /// The same, stopped by the request's `num_predict` (or `max_tokens`): `done_reason` (or
    /// `finish_reason`) `length`. Set by the server when a script is longer than the limit.
    Length,
    /// An `{"error": ...}` line in the middle of the stream.
    Error(String),
    /// Nothing more, with the connection kept open.
    Stall,
}

/// One answer: its pieces, the pause before each, and how it ends.
#[derive(Debug, Clone)]
pub struct Script {
    pub pieces: Vec<String>,
    pub delay: Duration,
    /// Extra wait before the first piece (a model loading).
    pub first_delay: Duration,
    /// Holds the last piece back until the gate opens: an answer "still being written" for as
    /// long as a test needs, whatever the machine's speed.
    pub held_until: Option<Gate>,
    pub ending: Ending,
}

/// Before piece `index` of `count`: the last one waits at the script's gate, if it has one.
async fn hold_before(gate: &Option<Gate>, index: usize, count: usize) {
    if index + 1 == count
        && let Some(gate) = gate
    {
        gate.passed().await;
    }
}

/// Shut until [`Gate::open`]; answers scripted with [`Script::held_until`] wait at it.
#[derive(Debug, Clone)]
pub struct Gate(Arc<tokio::sync::watch::Sender<bool>>);

impl Gate {
    pub fn shut() -> Gate {
        Gate(Arc::new(tokio::sync::watch::channel(false).0))
    }

    pub fn open(&self) {
        self.0.send_replace(true);
    }

    async fn passed(&self) {
        let _ = self.0.subscribe().wait_for(|open| *open).await;
    }
}

impl Script {
    /// `text` in pieces of about `piece_chars` characters, `delay` apart.
    pub fn text(text: &str, piece_chars: usize, delay: Duration) -> Script {
        let chars: Vec<char> = text.chars().collect();
        Script {
            pieces: chars
                .chunks(piece_chars.max(1))
                .map(|c| c.iter().collect())
                .collect(),
            delay,
            first_delay: Duration::ZERO,
            held_until: None,
            ending: Ending::Done,
        }
    }

    pub fn held_until(mut self, gate: &Gate) -> Script {
        self.held_until = Some(gate.clone());
        self
    }

    pub fn ending(mut self, ending: Ending) -> Script {
        self.ending = ending;
        self
    }

    pub fn first_delay(mut self, delay: Duration) -> Script {
        self.first_delay = delay;
        self
    }
}

#[derive(Default)]
struct Inner {
    models: Vec<String>,
    /// The models that see images.
    vision: Vec<String>,
    scripts: VecDeque<Script>,
    /// The body of every chat request.
    requests: Vec<Value>,
    /// When each answer's first piece was written to the connection.
    first_pieces: Vec<std::time::Instant>,
    /// Ollama answers being streamed now, and the most there were at once.
    streaming: usize,
    most_streaming: usize,
}

/// One Ollama answer being streamed, counted while it lives.
struct Streaming(Shared);

impl Streaming {
    fn begin(inner: Shared) -> Streaming {
        {
            let mut inner = inner.lock().unwrap();
            inner.streaming += 1;
            inner.most_streaming = inner.most_streaming.max(inner.streaming);
        }
        Streaming(inner)
    }
}

impl Drop for Streaming {
    fn drop(&mut self) {
        self.0.lock().unwrap().streaming -= 1;
    }
}

#[derive(Clone)]
pub struct FakeModel {
    /// Ollama's base URL; the OpenAI-compatible one is `{base_url}/v1`.
    pub base_url: String,
    inner: Arc<Mutex<Inner>>,
}

impl FakeModel {
    pub async fn start(models: &[&str]) -> FakeModel {
        let inner = Arc::new(Mutex::new(Inner {
            models: models.iter().map(|m| m.to_string()).collect(),
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/api/chat", post(ollama_chat))
            .route("/api/tags", get(tags))
            .route("/api/version", get(version))
            .route("/api/show", post(show))
            .route("/v1/chat/completions", post(openai_chat))
            .route("/v1/models", get(openai_models))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeModel { base_url, inner }
    }

    pub fn openai_url(&self) -> String {
        format!("{}/v1", self.base_url)
    }

    /// The next chat is answered by `script`.
    pub fn script(&self, script: Script) {
        self.inner.lock().unwrap().scripts.push_back(script);
    }

    /// The backend gets `model` (as `ollama pull` would).
    pub fn install(&self, model: &str) {
        self.inner.lock().unwrap().models.push(model.to_string());
    }

    /// The backend gets `model`, which sees images (as `llava`).
    pub fn install_vision(&self, model: &str) {
        let mut inner = self.inner.lock().unwrap();
        inner.models.push(model.to_string());
        inner.vision.push(model.to_string());
    }

    /// When each answer's first piece left the server, in order.
    pub fn first_piece_times(&self) -> Vec<std::time::Instant> {
        self.inner.lock().unwrap().first_pieces.clone()
    }

    /// The most Ollama answers that were streamed at the same time.
    pub fn most_at_once(&self) -> usize {
        self.inner.lock().unwrap().most_streaming
    }

    /// The chat requests received so far (their JSON bodies).
    pub fn requests(&self) -> Vec<Value> {
        self.inner.lock().unwrap().requests.clone()
    }
}

/// The text of each message of a chat request, in order.
pub fn contents(request: &Value) -> Vec<&str> {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect()
}

/// A URL where nothing listens (a backend that is down).
pub async fn unreachable_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}

type Shared = Arc<Mutex<Inner>>;

fn has_model(inner: &Inner, model: &str) -> bool {
    named(&inner.models, model)
}

fn named(models: &[String], model: &str) -> bool {
    models
        .iter()
        .any(|m| m == model || m.strip_suffix(":latest") == Some(model))
}

/// A message's text and how many images it carries, in either API's shape.
fn text_and_images(message: &Value) -> (String, usize) {
    match &message["content"] {
        Value::Array(parts) => (
            parts
                .iter()
                .filter(|p| p["type"] == "text")
                .filter_map(|p| p["text"].as_str())
                .collect(),
            parts.iter().filter(|p| p["type"] == "image_url").count(),
        ),
        content => (
            content.as_str().unwrap_or_default().to_string(),
            message["images"].as_array().map_or(0, Vec::len),
        ),
    }
}

/// Whether a chat sends images to a model that does not see them (refused, as Ollama does).
fn images_unseen(inner: &Inner, body: &Value, model: &str) -> bool {
    let images: usize = body["messages"]
        .as_array()
        .map_or(0, |m| m.iter().map(|m| text_and_images(m).1).sum());
    images > 0 && !named(&inner.vision, model)
}

const NO_IMAGE_INPUT: &str = "this model is missing data required for image input";

/// The script for a request, or the echo of its last message; one piece is one token, so a
/// script longer than the request's limit (`options.num_predict`, or `max_tokens`) stops there.
fn take_script(inner: &mut Inner, body: &Value) -> Script {
    let mut script = next_script(inner, body);
    let limit = body["options"]["num_predict"]
        .as_u64()
        .or(body["max_tokens"].as_u64());
    if let Some(limit) = limit.map(|l| l as usize)
        && script.pieces.len() > limit
        && script.ending == Ending::Done
    {
        script.pieces.truncate(limit);
        script.ending = Ending::Length;
    }
    script
}

fn next_script(inner: &mut Inner, body: &Value) -> Script {
    inner.scripts.pop_front().unwrap_or_else(|| {
        let (last, images) = body["messages"]
            .as_array()
            .and_then(|m| m.last())
            .map(text_and_images)
            .unwrap_or_default();
        let seen = match images {
            0 => String::new(),
            1 => " [1 photo]".to_string(),
            n => format!(" [{n} photos]"),
        };
        Script::text(&format!("Echo: {last}{seen}"), 4, Duration::from_millis(5))
    })
}

fn ndjson_stream(script: Script, model: String, inner: Shared) -> Body {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(16);
    let streaming = Streaming::begin(inner.clone());
    tokio::spawn(async move {
        let _streaming = streaming;
        tokio::time::sleep(script.first_delay).await;
        let count = script.pieces.len();
        for (index, piece) in script.pieces.into_iter().enumerate() {
            tokio::time::sleep(script.delay).await;
            hold_before(&script.held_until, index, count).await;
            if index == 0 {
                inner
                    .lock()
                    .unwrap()
                    .first_pieces
                    .push(std::time::Instant::now());
            }
            let line = json!({"model": model, "created_at": "2026-11-25T10:00:00.000000Z",
                              "message": {"role": "assistant", "content": piece}, "done": false});
            if sender.send(Ok(format!("{line}\n"))).await.is_err() {
                return;
            }
        }
        let done_reason = if script.ending == Ending::Length {
            "length"
        } else {
            "stop"
        };
        let last = match script.ending {
            Ending::Done | Ending::Length => {
                json!({"model": model, "created_at": "2026-11-25T10:00:01.000000Z",
                "message": {"role": "assistant", "content": ""}, "done": true, "done_reason": done_reason,
                "total_duration": 1_000_000_000u64, "load_duration": 1_000_000u64,
                "prompt_eval_count": 10, "prompt_eval_duration": 1_000_000u64,
                "eval_count": count, "eval_duration": 900_000_000u64})
            }
            Ending::Error(message) => json!({"error": message}),
            Ending::Stall => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
        };
        let _ = sender.send(Ok(format!("{last}\n"))).await;
    });
    Body::from_stream(futures::stream::unfold(receiver, |mut r| async move {
        r.recv().await.map(|item| (item, r))
    }))
}

fn not_found(model: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"error": format!("model \"{model}\" not found, try pulling it first")})),
    )
        .into_response()
}

async fn ollama_chat(State(inner): State<Shared>, body: String) -> Response {
    let Ok(body) = serde_json::from_str::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid JSON"})),
        )
            .into_response();
    };
    let model = body["model"].as_str().unwrap_or_default().to_string();
    let script = {
        let mut inner = inner.lock().unwrap();
        if !has_model(&inner, &model) {
            return not_found(&model);
        }
        inner.requests.push(body.clone());
        if images_unseen(&inner, &body, &model) {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(json!({ "error": NO_IMAGE_INPUT })),
            )
                .into_response();
        }
        take_script(&mut inner, &body)
    };
    if body["stream"] == json!(false) {
        let text: String = script.pieces.concat();
        return axum::Json(json!({"model": model, "created_at": "2026-11-25T10:00:00Z",
            "message": {"role": "assistant", "content": text}, "done": true, "done_reason": "stop",
            "total_duration": 1_000_000_000u64, "eval_count": script.pieces.len()}))
        .into_response();
    }
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        ndjson_stream(script, model, inner.clone()),
    )
        .into_response()
}

async fn tags(State(inner): State<Shared>) -> Response {
    let models: Vec<Value> = inner
        .lock()
        .unwrap()
        .models
        .iter()
        .map(|name| {
            json!({"name": name, "model": name, "modified_at": "2026-11-01T10:00:00.000000Z",
                   "size": 4_661_224_676u64, "digest": "365c0bd3c000a25d28ddbf732fe1c6add414de7275464c4e4d1c3b5fcb5d8ad1",
                   "details": {"parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"],
                               "parameter_size": "8.0B", "quantization_level": "Q4_0"}})
        })
        .collect();
    axum::Json(json!({ "models": models })).into_response()
}

/// `POST /api/show {"model": ...}`: the model's details and capabilities.
async fn show(State(inner): State<Shared>, axum::Json(body): axum::Json<Value>) -> Response {
    let model = body["model"].as_str().unwrap_or_default();
    let inner = inner.lock().unwrap();
    if !has_model(&inner, model) {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": format!("model '{model}' not found")})),
        )
            .into_response();
    }
    let mut capabilities = vec!["completion"];
    if named(&inner.vision, model) {
        capabilities.push("vision");
    }
    axum::Json(json!({
        "modelfile": "# Modelfile generated by \"ollama show\"", "parameters": "stop \"<|eot_id|>\"",
        "template": "{{ .Prompt }}", "modified_at": "2026-11-01T10:00:00.000000Z",
        "details": {"parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"],
                    "parameter_size": "8.0B", "quantization_level": "Q4_0"},
        "capabilities": capabilities,
    }))
    .into_response()
}

async fn version() -> Response {
    axum::Json(json!({"version": "0.5.7"})).into_response()
}

async fn openai_models(State(inner): State<Shared>) -> Response {
    let data: Vec<Value> = inner
        .lock()
        .unwrap()
        .models
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": 1_764_000_000, "owned_by": "library"}))
        .collect();
    axum::Json(json!({"object": "list", "data": data})).into_response()
}

async fn openai_chat(State(inner): State<Shared>, body: String) -> Response {
    let Ok(body) = serde_json::from_str::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": {"message": "invalid JSON", "type": "invalid_request_error", "param": null, "code": null}})),
        )
            .into_response();
    };
    let model = body["model"].as_str().unwrap_or_default().to_string();
    let script = {
        let mut inner = inner.lock().unwrap();
        if !has_model(&inner, &model) {
            return (
                StatusCode::NOT_FOUND,
                axum::Json(
                    json!({"error": {"message": format!("The model `{model}` does not exist."),
                    "type": "invalid_request_error", "param": null, "code": "model_not_found"}}),
                ),
            )
                .into_response();
        }
        inner.requests.push(body.clone());
        if images_unseen(&inner, &body, &model) {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"error": {"message": NO_IMAGE_INPUT,
                    "type": "invalid_request_error", "param": null, "code": null}})),
            )
                .into_response();
        }
        take_script(&mut inner, &body)
    };
    let include_usage = body["stream_options"]["include_usage"] == json!(true);
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(16);
    tokio::spawn(async move {
        tokio::time::sleep(script.first_delay).await;
        let id = "chatcmpl-1";
        let count = script.pieces.len();
        for (index, piece) in script.pieces.into_iter().enumerate() {
            tokio::time::sleep(script.delay).await;
            hold_before(&script.held_until, index, count).await;
            let chunk = json!({"id": id, "object": "chat.completion.chunk", "created": 1_764_000_000, "model": model,
                "choices": [{"index": 0, "delta": {"role": "assistant", "content": piece}, "finish_reason": null}]});
            if sender.send(Ok(format!("data: {chunk}\n\n"))).await.is_err() {
                return;
            }
        }
        let finish_reason = if script.ending == Ending::Length {
            "length"
        } else {
            "stop"
        };
        let tail = match script.ending {
            Ending::Done | Ending::Length => {
                let last = json!({"id": id, "object": "chat.completion.chunk", "created": 1_764_000_000, "model": model,
                    "choices": [{"index": 0, "delta": {}, "finish_reason": finish_reason}]});
                // As OpenAI documents `stream_options.include_usage`: one more chunk, no choices.
                let usage = json!({"id": id, "object": "chat.completion.chunk", "created": 1_764_000_000, "model": model,
                    "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": count, "total_tokens": 10 + count}});
                if include_usage {
                    format!("data: {last}\n\ndata: {usage}\n\ndata: [DONE]\n\n")
                } else {
                    format!("data: {last}\n\ndata: [DONE]\n\n")
                }
            }
            Ending::Error(message) => {
                format!(
                    "data: {}\n\n",
                    json!({"error": {"message": message, "type": "server_error"}})
                )
            }
            Ending::Stall => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
        };
        let _ = sender.send(Ok(tail)).await;
    });
    (
        [(header::CONTENT_TYPE, "text/event-stream")],
        Body::from_stream(futures::stream::unfold(receiver, |mut r| async move {
            r.recv().await.map(|item| (item, r))
        })),
    )
        .into_response()
}
