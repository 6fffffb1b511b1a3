//! A local speech-to-text server that follows OpenAI's documented
//! `POST /v1/audio/transcriptions`: multipart with a `file` (its name's extension tells the
//! format: flac, m4a, mp3, mp4, mpeg, mpga, oga, ogg, wav or webm) and a `model`, answered
//! `{"text": ...}`; errors as `{"error": {"message", "type", "param", "code"}}`. What a
//! recording "says" is set per test by its bytes; any other recording says nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;

const FORMATS: &[&str] = &[
    "flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm",
];

/// One transcription request as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptionRequest {
    pub file_name: String,
    pub content_type: Option<String>,
    pub model: String,
    pub bytes: Vec<u8>,
    pub authorization: Option<String>,
}

#[derive(Default)]
struct Inner {
    words: HashMap<Vec<u8>, String>,
    /// Answered with HTTP 500 while set.
    failing: bool,
    /// How long each answer takes.
    delay: std::time::Duration,
    requests: Vec<TranscriptionRequest>,
}

type Shared = Arc<Mutex<Inner>>;

#[derive(Clone)]
pub struct FakeTranscriber {
    /// Up to and including `/v1`.
    pub base_url: String,
    inner: Shared,
}

impl FakeTranscriber {
    pub async fn start() -> FakeTranscriber {
        let inner = Shared::default();
        let app = Router::new()
            .route("/v1/audio/transcriptions", post(transcribe))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeTranscriber { base_url, inner }
    }

    /// The recording `bytes` says `words`.
    pub fn says(&self, bytes: &[u8], words: &str) {
        let mut inner = self.inner.lock().unwrap();
        inner.words.insert(bytes.to_vec(), words.to_string());
    }

    /// Fails every request with a server error (or stops failing).
    pub fn failing(&self, failing: bool) {
        self.inner.lock().unwrap().failing = failing;
    }

    /// Takes `delay` before each answer (a busy CPU server).
    pub fn slow(&self, delay: std::time::Duration) {
        self.inner.lock().unwrap().delay = delay;
    }

    pub fn requests(&self) -> Vec<TranscriptionRequest> {
        self.inner.lock().unwrap().requests.clone()
    }
}

fn error(status: StatusCode, message: &str, kind: &str) -> Response {
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": null}});
    (status, axum::Json(body)).into_response()
}

async fn transcribe(
    State(inner): State<Shared>,
    headers: axum::http::HeaderMap,
    mut multipart: Multipart,
) -> Response {
    let mut file = None;
    let mut model = None;
    while let Ok(Some(field)) = multipart.next_field().await {
        match field.name().unwrap_or_default() {
            "file" => {
                let name = field.file_name().unwrap_or_default().to_string();
                let content_type = field.content_type().map(str::to_string);
                let bytes = field.bytes().await.unwrap_or_default().to_vec();
                file = Some((name, content_type, bytes));
            }
            "model" => model = field.text().await.ok(),
            _ => {}
        }
    }
    let Some((file_name, content_type, bytes)) = file else {
        return error(
            StatusCode::BAD_REQUEST,
            "you must provide a file",
            "invalid_request_error",
        );
    };
    let Some(model) = model else {
        return error(
            StatusCode::BAD_REQUEST,
            "you must provide a model parameter",
            "invalid_request_error",
        );
    };
    let extension = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase());
    if !extension.is_some_and(|e| FORMATS.contains(&e.as_str())) {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("Invalid file format. Supported formats: {FORMATS:?}"),
            "invalid_request_error",
        );
    }
    let delay = inner.lock().unwrap().delay;
    tokio::time::sleep(delay).await;
    let mut inner = inner.lock().unwrap();
    inner.requests.push(TranscriptionRequest {
        file_name,
        content_type,
        model,
        bytes: bytes.clone(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    });
    if inner.failing {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
        );
    }
    let text = inner.words.get(&bytes).cloned().unwrap_or_default();
    axum::Json(json!({ "text": text })).into_response()
}
