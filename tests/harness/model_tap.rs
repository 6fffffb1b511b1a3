//! A recording proxy in front of a model server: each request's body and the response's bytes as
//! they passed to the bot, so a test can hold what the model wrote against what the user saw and
//! what was stored. The response streams through unchanged; when the server dies mid-answer the
//! bot's connection is cut too, as it would be without the proxy.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use cloud_ai_shared::domain::replies;
use cloud_ai_shared::telegram::html;
use serde_json::Value;

/// One request and the response as far as it got.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub path: String,
    pub request: Value,
    pub status: u16,
    pub response: String,
}

impl Exchange {
    /// The `data:` chunks of a server-sent-events answer, parsed (`[DONE]` left out).
    fn chunks(&self) -> Vec<Value> {
        self.response
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim)
            .filter(|d| *d != "[DONE]")
            .filter_map(|d| serde_json::from_str(d).ok())
            .collect()
    }

    /// The answer's text: every chunk's `choices[].delta.content`, joined.
    pub fn streamed_text(&self) -> String {
        self.chunks()
            .iter()
            .flat_map(|c| c["choices"].as_array().cloned().unwrap_or_default())
            .filter_map(|choice| choice["delta"]["content"].as_str().map(str::to_string))
            .collect()
    }

    /// The last `finish_reason` the stream gave (`stop`, `length`).
    pub fn finish_reason(&self) -> Option<String> {
        self.chunks()
            .iter()
            .flat_map(|c| c["choices"].as_array().cloned().unwrap_or_default())
            .filter_map(|choice| choice["finish_reason"].as_str().map(str::to_string))
            .next_back()
    }

    /// The `usage` the server reported: (prompt tokens, completion tokens).
    pub fn usage(&self) -> Option<(u64, u64)> {
        self.chunks().iter().find_map(|c| {
            let usage = &c["usage"];
            Some((
                usage["prompt_tokens"].as_u64()?,
                usage["completion_tokens"].as_u64()?,
            ))
        })
    }

    /// What a chat shows of this answer, as the HTML the bot sends: every character the model
    /// streamed, rendered as the bot renders Markdown, and the length cap's note when the cap
    /// (`max_answer_tokens`) stopped it.
    pub fn as_shown(&self, max_answer_tokens: u32) -> String {
        let mut answer = self.streamed_text();
        if self.finish_reason().as_deref() == Some("length") {
            let note = replies::answer_cut(Some(max_answer_tokens));
            answer = format!("{answer}\n\n{note}");
        }
        html::render(&answer, false).trim().to_string()
    }

    /// llama.cpp's `timings` of the answer (`prompt_ms`, `predicted_ms`, `predicted_per_second`).
    pub fn timings(&self) -> Option<Value> {
        self.chunks()
            .into_iter()
            .rev()
            .find_map(|c| c.get("timings").cloned())
    }

    /// Whether the stream got as far as `data: [DONE]`.
    pub fn finished(&self) -> bool {
        self.response.contains("data: [DONE]")
    }
}

/// An exchange as it is being recorded: the response in bytes, since a chunk may end inside a
/// character.
struct Recording {
    path: String,
    request: Value,
    status: u16,
    response: Vec<u8>,
}

#[derive(Clone)]
struct Tap {
    upstream: Arc<Mutex<String>>,
    exchanges: Arc<Mutex<Vec<Recording>>>,
    http: reqwest::Client,
}

#[derive(Clone)]
pub struct ModelTap {
    /// The proxy's base URL: the upstream's paths under it.
    pub base_url: String,
    tap: Tap,
}

impl ModelTap {
    /// A proxy to `upstream` (a server's base URL) on a free port.
    pub async fn start(upstream: &str) -> ModelTap {
        let tap = Tap {
            upstream: Arc::new(Mutex::new(upstream.to_string())),
            exchanges: Arc::default(),
            http: reqwest::Client::new(),
        };
        let app = Router::new().fallback(forward).with_state(tap.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        ModelTap {
            base_url: format!("http://{address}"),
            tap,
        }
    }

    /// Sends what follows to `upstream` instead (a restarted server on another port).
    pub fn point_at(&self, upstream: &str) {
        *self.tap.upstream.lock().unwrap() = upstream.to_string();
    }

    pub fn exchanges(&self) -> Vec<Exchange> {
        self.tap
            .exchanges
            .lock()
            .unwrap()
            .iter()
            .map(|r| Exchange {
                path: r.path.clone(),
                request: r.request.clone(),
                status: r.status,
                response: String::from_utf8_lossy(&r.response).into_owned(),
            })
            .collect()
    }

    /// The chat requests (`/chat/completions`) and their responses, oldest first.
    pub fn chats(&self) -> Vec<Exchange> {
        self.exchanges()
            .into_iter()
            .filter(|e| e.path.ends_with("/chat/completions"))
            .collect()
    }
}

async fn forward(State(tap): State<Tap>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let index = {
        let mut exchanges = tap.exchanges.lock().unwrap();
        exchanges.push(Recording {
            path: path.clone(),
            request: serde_json::from_slice(&body).unwrap_or(Value::Null),
            status: 0,
            response: Vec::new(),
        });
        exchanges.len() - 1
    };
    let upstream = tap.upstream.lock().unwrap().clone();
    let mut outgoing = tap
        .http
        .request(parts.method, format!("{upstream}{path}"))
        .body(body);
    for name in [header::CONTENT_TYPE, header::AUTHORIZATION] {
        if let Some(value) = parts.headers.get(&name) {
            outgoing = outgoing.header(name, value);
        }
    }
    let response = match outgoing.send().await {
        Ok(response) => response,
        // What a reverse proxy says for a server that is not there.
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = response.status();
    tap.exchanges.lock().unwrap()[index].status = status.as_u16();
    let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
    let exchanges = tap.exchanges.clone();
    let stream = futures::stream::unfold(Some(response), move |response| {
        let exchanges = exchanges.clone();
        async move {
            let mut response = response?;
            match response.chunk().await {
                Ok(Some(bytes)) => {
                    exchanges.lock().unwrap()[index]
                        .response
                        .extend_from_slice(&bytes);
                    Some((Ok(bytes), Some(response)))
                }
                Ok(None) => None,
                // The server went away mid-answer: the bot's connection breaks as well.
                Err(e) => Some((Err(std::io::Error::other(e)), None)),
            }
        }
    });
    let mut builder = Response::builder().status(status.as_u16());
    if let Some(content_type) = content_type {
        builder = builder.header(header::CONTENT_TYPE, content_type);
    }
    builder.body(Body::from_stream(stream)).unwrap()
}
