//! Faults the fake answers with instead of (or after) doing a call: the Bot API's error
//! envelope, or what a proxy or a third-party Bot API server may answer; set by a test with
//! `fail_next`, or by hand with `POST /control/fail`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{AppState, error, ok};

/// How the fake answers a call instead of doing it (or, for `OkTrue` and `OkWithoutResult`,
/// after doing it): the Bot API's error envelope, or what a proxy or a third-party Bot API
/// implementation may answer.
#[derive(Debug, Clone)]
pub enum Shape {
    /// `{ok: false, error_code, description, parameters}` with that HTTP status.
    Envelope {
        status: u16,
        description: String,
        retry_after: Option<u64>,
    },
    /// A proxy's HTML error page with that HTTP status (`502 Bad Gateway`).
    HtmlPage { status: u16 },
    /// A 200 whose JSON is cut off part way (after the call was done).
    CutOff,
    /// Accepts the connection and never answers.
    Hang,
    /// Closes the connection without an answer.
    Reset,
    /// Does the call and answers `{"ok": true, "result": true}` (the answer for inline messages).
    OkTrue,
    /// Does the call and answers `{"ok": true}` without a result.
    OkWithoutResult,
}

/// An answer the fake gives instead of the usual one.
#[derive(Debug, Clone)]
pub struct Failure {
    pub shape: Shape,
}

impl Failure {
    pub fn envelope(status: u16, description: &str, retry_after: Option<u64>) -> Failure {
        Failure {
            shape: Shape::Envelope {
                status,
                description: description.into(),
                retry_after,
            },
        }
    }

    pub fn shaped(shape: Shape) -> Failure {
        Failure { shape }
    }

    pub fn too_many_requests(retry_after: u64) -> Failure {
        Failure::envelope(
            429,
            &format!("Too Many Requests: retry after {retry_after}"),
            Some(retry_after),
        )
    }

    pub fn blocked() -> Failure {
        Failure::envelope(403, "Forbidden: bot was blocked by the user", None)
    }

    /// What Telegram answers when a message's markup does not parse.
    pub fn bad_markup() -> Failure {
        Failure::envelope(
            400,
            "Bad Request: can't parse entities: Unsupported start tag \"x\" at byte offset 0",
            None,
        )
    }

    pub fn server_error() -> Failure {
        Failure::envelope(502, "Bad Gateway", None)
    }

    /// `getUpdates` while a webhook is set on the token.
    pub fn webhook_set() -> Failure {
        Failure::envelope(
            409,
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            None,
        )
    }

    /// `getUpdates` cut off by another program's `getUpdates` on the same token (the newer
    /// request wins): another bot, such as the original one during a switch-over, polls too.
    pub fn other_poller() -> Failure {
        Failure::envelope(
            409,
            "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
            None,
        )
    }

    /// Whether the call is done before the answer is given.
    pub(super) fn call_goes_through(&self) -> bool {
        matches!(
            self.shape,
            Shape::CutOff | Shape::OkTrue | Shape::OkWithoutResult
        )
    }

    /// The answer that replaces `done` (the answer the call would have had).
    pub(super) async fn answer(&self, done: Response) -> Response {
        match &self.shape {
            Shape::Envelope {
                status,
                description,
                retry_after,
            } => error(*status, description, *retry_after),
            Shape::HtmlPage { status } => (
                StatusCode::from_u16(*status).unwrap(),
                [(header::CONTENT_TYPE, "text/html")],
                "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
            )
                .into_response(),
            Shape::CutOff => {
                let body = axum::body::to_bytes(done.into_body(), 1 << 20)
                    .await
                    .unwrap_or_default();
                let cut = body.slice(..body.len() / 2);
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/json")],
                    cut,
                )
                    .into_response()
            }
            Shape::Hang => {
                std::future::pending::<()>().await;
                unreachable!()
            }
            Shape::Reset => {
                // An answer whose body fails part way: hyper drops the connection.
                let stream = futures::stream::once(async {
                    Err::<Bytes, std::io::Error>(std::io::Error::other("connection reset"))
                });
                Response::builder()
                    .status(StatusCode::OK)
                    .header(header::CONTENT_LENGTH, "100")
                    .body(axum::body::Body::from_stream(stream))
                    .unwrap()
            }
            Shape::OkTrue => ok(json!(true)),
            Shape::OkWithoutResult => {
                (StatusCode::OK, axum::Json(json!({"ok": true}))).into_response()
            }
        }
    }
}

/// `POST /control/fail {"method", "count", "shape"}`: the next `count` calls of `method` answer
/// with `shape` (`html`, `cut_off`, `hang`, `reset`, `ok_true`, `ok_without_result`, or an
/// HTTP status such as `500`, `429` or `409` for the Bot API's error envelope), for trying faults
/// by hand against a running bot.
pub(super) async fn control_fail(
    State(app): State<AppState>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let method = body["method"].as_str().unwrap_or_default().to_string();
    let count = body["count"].as_u64().unwrap_or(1) as usize;
    let shape = match &body["shape"] {
        Value::String(kind) => match kind.as_str() {
            "html" => Shape::HtmlPage { status: 502 },
            "cut_off" => Shape::CutOff,
            "hang" => Shape::Hang,
            "reset" => Shape::Reset,
            "ok_true" => Shape::OkTrue,
            "ok_without_result" => Shape::OkWithoutResult,
            other => return error(400, &format!("Bad Request: unknown shape {other}"), None),
        },
        Value::Number(status) => {
            let status = status.as_u64().unwrap_or(500) as u16;
            let failure = match status {
                429 => Failure::too_many_requests(1),
                409 => Failure::webhook_set(),
                403 => Failure::blocked(),
                _ => Failure::envelope(status, "Internal Server Error", None),
            };
            failure.shape
        }
        _ => return error(400, "Bad Request: shape is required", None),
    };
    let mut inner = app.inner.lock().unwrap();
    let queue = inner.failures.entry(method).or_default();
    queue.extend(std::iter::repeat_n(Failure { shape }, count));
    ok(json!(true))
}
