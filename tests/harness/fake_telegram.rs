//! A local Telegram Bot API: `{base}/bot<token>/<method>` and `{base}/file/bot<token>/<path>`,
//! answering with the documented envelope (`{ok, result}` / `{ok: false, error_code,
//! description, parameters}`). It records what the bot sends, serves uploaded files and queued
//! updates, and can be told to answer the next calls of a method with an error.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};

/// Something the bot sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    Message {
        chat_id: i64,
        /// `reply_parameters.message_id`: the message this one replies to.
        reply_to: Option<i64>,
        text: String,
    },
    Document {
        chat_id: i64,
        reply_to: Option<i64>,
        file_name: String,
        caption: String,
        bytes: Vec<u8>,
    },
}

impl Sent {
    pub fn chat_id(&self) -> i64 {
        match self {
            Sent::Message { chat_id, .. } | Sent::Document { chat_id, .. } => *chat_id,
        }
    }

    pub fn reply_to(&self) -> Option<i64> {
        match self {
            Sent::Message { reply_to, .. } | Sent::Document { reply_to, .. } => *reply_to,
        }
    }

    pub fn text(&self) -> Option<&str> {
        match self {
            Sent::Message { text, .. } => Some(text),
            Sent::Document { .. } => None,
        }
    }
}

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
    fn call_goes_through(&self) -> bool {
        matches!(
            self.shape,
            Shape::CutOff | Shape::OkTrue | Shape::OkWithoutResult
        )
    }

    /// The answer that replaces `done` (the answer the call would have had).
    async fn answer(&self, done: Response) -> Response {
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

/// A message as the chat shows it now (after edits), with when it was sent and edited.
#[derive(Debug, Clone)]
pub struct Shown {
    pub message_id: i64,
    pub chat_id: i64,
    /// The text as users see it (markup parsed away).
    pub text: String,
    /// The text as sent, with its markup.
    pub raw: String,
    pub html: bool,
    pub sent_at: std::time::Instant,
    pub edited_at: Vec<std::time::Instant>,
}

#[derive(Default)]
struct Inner {
    sent: Vec<Sent>,
    /// Every text message, by id, as shown now.
    shown: Vec<Shown>,
    /// `sendChatAction` calls: (chat, action).
    actions: Vec<(i64, String)>,
    /// file_id → (file_path, bytes)
    files: HashMap<String, (String, Vec<u8>)>,
    /// Waiting updates: (update_id, the JSON text served).
    updates: Vec<(i64, String)>,
    failures: HashMap<String, VecDeque<Failure>>,
    calls: Vec<String>,
    next_message_id: i64,
    /// `setMyCommands`: scope (`default`, `all_group_chats`, `chat:<id>`) → (command, description).
    menus: HashMap<String, Vec<(String, String)>>,
    /// Chats the bot has had an update from: the only ones a `chat` scope may name.
    known_chats: std::collections::HashSet<i64>,
    /// Answer `getUpdates` at once, whatever its `timeout` (as some proxies and third-party
    /// Bot API servers do; the spec lets a server end a long poll early).
    no_long_polling: bool,
}

#[derive(Clone)]
pub struct FakeTelegram {
    pub base_url: String,
    pub token: String,
    inner: Arc<Mutex<Inner>>,
}

#[derive(Clone)]
struct AppState {
    token: String,
    inner: Arc<Mutex<Inner>>,
}

fn ok(result: Value) -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({"ok": true, "result": result})),
    )
        .into_response()
}

fn error(status: u16, description: &str, retry_after: Option<u64>) -> Response {
    let mut body = json!({"ok": false, "error_code": status, "description": description});
    if let Some(seconds) = retry_after {
        body["parameters"] = json!({"retry_after": seconds});
    }
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

impl FakeTelegram {
    pub async fn start(token: &str) -> FakeTelegram {
        let inner = Arc::new(Mutex::new(Inner {
            next_message_id: 1,
            ..Inner::default()
        }));
        let state = AppState {
            token: token.to_string(),
            inner: inner.clone(),
        };
        let app = Router::new()
            .route("/{bot}/{method}", any(method))
            .route("/file/{bot}/{*path}", any(download))
            .route("/control/fail", axum::routing::post(control_fail))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeTelegram {
            base_url,
            token: token.to_string(),
            inner,
        }
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.inner.lock().unwrap().sent.clone()
    }

    pub fn texts(&self) -> Vec<String> {
        self.sent()
            .iter()
            .filter_map(|s| s.text().map(str::to_string))
            .collect()
    }

    pub fn last_text(&self) -> String {
        self.texts().pop().unwrap_or_default()
    }

    pub fn clear_sent(&self) {
        self.inner.lock().unwrap().sent.clear();
    }

    /// The methods called, in order.
    pub fn calls(&self) -> Vec<String> {
        self.inner.lock().unwrap().calls.clone()
    }

    /// Makes a file downloadable; returns its `file_id`.
    pub fn add_file(&self, bytes: Vec<u8>) -> String {
        let mut inner = self.inner.lock().unwrap();
        let n = inner.files.len() + 1;
        let file_id = format!("BQACAgIAAxkBAAI{n}");
        inner
            .files
            .insert(file_id.clone(), (format!("documents/file_{n}.json"), bytes));
        file_id
    }

    /// Makes a file downloadable under a given `file_id` (as a fixture names it).
    pub fn add_file_with_id(&self, file_id: &str, bytes: Vec<u8>) {
        let mut inner = self.inner.lock().unwrap();
        let path = format!("documents/{file_id}.json");
        inner.files.insert(file_id.to_string(), (path, bytes));
    }

    /// Adds an update; `getUpdates` serves them in increasing `update_id`, as Telegram does.
    pub fn queue_update(&self, update: Value) {
        let update_id = update["update_id"].as_i64().unwrap_or(0);
        self.queue_raw_update(update_id, &update.to_string());
    }

    /// Adds an update served exactly as `text` (which may be JSON no strict parser takes, such
    /// as a lone UTF-16 surrogate escape, as Telegram has sent).
    pub fn queue_raw_update(&self, update_id: i64, text: &str) {
        let mut inner = self.inner.lock().unwrap();
        if let Ok(update) = serde_json::from_str::<Value>(text)
            && let Some(chat_id) = update["message"]["chat"]["id"].as_i64()
        {
            inner.known_chats.insert(chat_id);
        }
        inner.updates.push((update_id, text.to_string()));
        inner.updates.sort_by_key(|(id, _)| *id);
    }

    /// Every text message in `chat_id` as the chat shows it now (after edits), in order.
    pub fn chat_messages(&self, chat_id: i64) -> Vec<Shown> {
        self.inner
            .lock()
            .unwrap()
            .shown
            .iter()
            .filter(|m| m.chat_id == chat_id)
            .cloned()
            .collect()
    }

    /// How many messages in each of `chats` show each text now: (chat, text) → count.
    pub fn shown_texts(&self, chats: &[i64]) -> HashMap<(i64, String), usize> {
        let mut counts = HashMap::new();
        for message in &self.inner.lock().unwrap().shown {
            if chats.contains(&message.chat_id) {
                *counts
                    .entry((message.chat_id, message.text.clone()))
                    .or_default() += 1;
            }
        }
        counts
    }

    /// The `sendChatAction` calls so far: (chat, action).
    /// The command menu set for `scope` (`default`, `all_group_chats`, `chat:<id>`), if any.
    pub fn menu(&self, scope: &str) -> Option<Vec<(String, String)>> {
        self.inner.lock().unwrap().menus.get(scope).cloned()
    }

    pub fn actions(&self) -> Vec<(i64, String)> {
        self.inner.lock().unwrap().actions.clone()
    }

    pub fn ignore_long_polling(&self) {
        self.inner.lock().unwrap().no_long_polling = true;
    }

    /// Forgets every failure still queued: Telegram answers normally again.
    pub fn clear_failures(&self) {
        self.inner.lock().unwrap().failures.clear();
    }

    /// The next `count` calls of `method` fail with `failure`.
    pub fn fail_next(&self, method: &str, count: usize, failure: Failure) {
        let mut inner = self.inner.lock().unwrap();
        let queue = inner.failures.entry(method.to_string()).or_default();
        queue.extend(std::iter::repeat_n(failure, count));
    }
}

/// `POST /control/fail {"method", "count", "shape"}`: the next `count` calls of `method` answer
/// with `shape` (`html`, `cut_off`, `hang`, `reset`, `ok_true`, `ok_without_result`, or an
/// HTTP status such as `500`, `429` or `409` for the Bot API's error envelope), for trying faults
/// by hand against a running bot.
async fn control_fail(
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

/// The call's parameters: JSON body, form, multipart or query string, as the Bot API accepts.
async fn parameters(
    request: Request,
) -> Result<(HashMap<String, Value>, Option<(String, Vec<u8>)>), String> {
    let mut params: HashMap<String, Value> = request
        .uri()
        .query()
        .map(|q| {
            url_pairs(q)
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect()
        })
        .unwrap_or_default();
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut upload = None;
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, &())
            .await
            .map_err(|e| e.to_string())?;
        while let Some(field) = multipart.next_field().await.map_err(|e| e.to_string())? {
            let name = field.name().unwrap_or_default().to_string();
            match field.file_name().map(str::to_string) {
                Some(file_name) => {
                    let bytes = field.bytes().await.map_err(|e| e.to_string())?;
                    upload = Some((file_name, bytes.to_vec()));
                }
                None => {
                    let text = field.text().await.map_err(|e| e.to_string())?;
                    params.insert(name, Value::String(text));
                }
            }
        }
    } else {
        let body = axum::body::to_bytes(request.into_body(), 1 << 20)
            .await
            .map_err(|e| e.to_string())?;
        if content_type.starts_with("application/json") && !body.is_empty() {
            let Value::Object(map) = serde_json::from_slice(&body).map_err(|e| e.to_string())?
            else {
                return Err("body is not an object".into());
            };
            params.extend(map);
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            let text = String::from_utf8_lossy(&body);
            params.extend(
                url_pairs(&text)
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v))),
            );
        }
    }
    Ok((params, upload))
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace('+', " ")))
        .collect()
}

fn int(params: &HashMap<String, Value>, name: &str) -> Option<i64> {
    match params.get(name)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn string(params: &HashMap<String, Value>, name: &str) -> Option<String> {
    match params.get(name)? {
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

async fn method(
    State(app): State<AppState>,
    Path((bot, method)): Path<(String, String)>,
    request: Request,
) -> Response {
    if bot != format!("bot{}", app.token) {
        return error(401, "Unauthorized", None);
    }
    let (params, upload) = match parameters(request).await {
        Ok(parsed) => parsed,
        Err(e) => return error(400, &format!("Bad Request: {e}"), None),
    };
    let failure = {
        let mut inner = app.inner.lock().unwrap();
        inner.calls.push(method.clone());
        inner
            .failures
            .get_mut(&method)
            .and_then(VecDeque::pop_front)
    };
    if let Some(failure) = failure.as_ref().filter(|f| !f.call_goes_through()) {
        return failure.answer(ok(json!(null))).await;
    }
    let done = if method == "getUpdates" {
        get_updates(&app, &params).await
    } else {
        perform(&mut app.inner.lock().unwrap(), &method, &params, upload)
    };
    match failure {
        Some(failure) => failure.answer(done).await,
        None => done,
    }
}

/// `setMyCommands` as the Bot API documents it: at most 100 commands, each named by 1-32
/// lower-case letters, digits and underscores with a 1-256 character description; the scope
/// `default`, `all_group_chats` or `chat` (a chat the bot knows).
fn set_my_commands(inner: &mut Inner, params: &HashMap<String, Value>) -> Response {
    let parse = |name: &str| match params.get(name) {
        Some(Value::String(text)) => serde_json::from_str::<Value>(text).ok(),
        other => other.cloned(),
    };
    let Some(Value::Array(commands)) = parse("commands") else {
        return error(400, "Bad Request: parameter \"commands\" is required", None);
    };
    if commands.len() > 100 {
        return error(400, "Bad Request: too many commands specified", None);
    }
    let mut menu = Vec::new();
    for command in &commands {
        let (Some(name), Some(description)) =
            (command["command"].as_str(), command["description"].as_str())
        else {
            return error(
                400,
                "Bad Request: can't parse BotCommand: Can't find field \"description\"",
                None,
            );
        };
        let valid_name = (1..=32).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid_name || !(1..=256).contains(&description.chars().count()) {
            return error(400, "Bad Request: BOT_COMMAND_INVALID", None);
        }
        menu.push((name.to_string(), description.to_string()));
    }
    let scope = parse("scope").unwrap_or_else(|| json!({"type": "default"}));
    let key = match scope["type"].as_str() {
        Some(kind @ ("default" | "all_group_chats")) => kind.to_string(),
        Some("chat") => match scope["chat_id"].as_i64() {
            Some(chat_id) if inner.known_chats.contains(&chat_id) => format!("chat:{chat_id}"),
            _ => return error(400, "Bad Request: chat not found", None),
        },
        _ => return error(400, "Bad Request: wrong parameter scope", None),
    };
    inner.menus.insert(key, menu);
    ok(json!(true))
}

/// `reply_parameters.message_id`: a JSON object, or its text in a form upload.
fn reply_to(params: &HashMap<String, Value>) -> Option<i64> {
    let value = params.get("reply_parameters")?;
    let object = match value {
        Value::String(text) => serde_json::from_str(text).ok()?,
        other => other.clone(),
    };
    object.get("message_id")?.as_i64()
}

/// Does a call other than `getUpdates`.
fn perform(
    inner: &mut Inner,
    method: &str,
    params: &HashMap<String, Value>,
    upload: Option<(String, Vec<u8>)>,
) -> Response {
    let message_id = inner.next_message_id;
    match method {
        "getMe" => {
            ok(json!({"id": 1, "is_bot": true, "first_name": "cloud-ai", "username": "cloudaibot"}))
        }
        "sendMessage" => {
            let Some(chat_id) = int(params, "chat_id") else {
                return error(400, "Bad Request: chat_id is empty", None);
            };
            let raw = string(params, "text").unwrap_or_default();
            let html = string(params, "parse_mode").is_some_and(|m| m.eq_ignore_ascii_case("html"));
            let text = match visible(&raw, html) {
                Ok(text) => text,
                Err(response) => return response,
            };
            inner.next_message_id += 1;
            inner.sent.push(Sent::Message {
                chat_id,
                reply_to: reply_to(params),
                text: text.clone(),
            });
            inner.shown.push(Shown {
                message_id,
                chat_id,
                text: text.clone(),
                raw,
                html,
                sent_at: std::time::Instant::now(),
                edited_at: Vec::new(),
            });
            ok(
                json!({"message_id": message_id, "date": 1_764_000_000, "chat": {"id": chat_id, "type": "private"}, "text": text}),
            )
        }
        "editMessageText" => {
            let (Some(chat_id), Some(edited_id)) =
                (int(params, "chat_id"), int(params, "message_id"))
            else {
                return error(
                    400,
                    "Bad Request: message identifier is not specified",
                    None,
                );
            };
            let raw = string(params, "text").unwrap_or_default();
            let html = string(params, "parse_mode").is_some_and(|m| m.eq_ignore_ascii_case("html"));
            let text = match visible(&raw, html) {
                Ok(text) => text,
                Err(response) => return response,
            };
            let Some(shown) = inner
                .shown
                .iter_mut()
                .find(|m| m.message_id == edited_id && m.chat_id == chat_id)
            else {
                return error(400, "Bad Request: message to edit not found", None);
            };
            if shown.raw == raw && shown.html == html {
                return error(
                    400,
                    "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
                    None,
                );
            }
            shown.text = text.clone();
            shown.raw = raw;
            shown.html = html;
            shown.edited_at.push(std::time::Instant::now());
            ok(
                json!({"message_id": edited_id, "date": 1_764_000_000, "edit_date": 1_764_000_001, "chat": {"id": chat_id, "type": "private"}, "text": text}),
            )
        }
        "setMyCommands" => set_my_commands(inner, params),
        "sendChatAction" => {
            let Some(chat_id) = int(params, "chat_id") else {
                return error(400, "Bad Request: chat_id is empty", None);
            };
            let action = string(params, "action").unwrap_or_default();
            if ![
                "typing",
                "upload_document",
                "upload_photo",
                "record_voice",
                "choose_sticker",
            ]
            .contains(&action.as_str())
            {
                return error(400, "Bad Request: wrong parameter action in request", None);
            }
            inner.actions.push((chat_id, action));
            ok(json!(true))
        }
        "sendDocument" => {
            let Some(chat_id) = int(params, "chat_id") else {
                return error(400, "Bad Request: chat_id is empty", None);
            };
            let Some((file_name, bytes)) = upload else {
                return error(
                    400,
                    "Bad Request: there is no document in the request",
                    None,
                );
            };
            let caption = string(params, "caption").unwrap_or_default();
            if caption.encode_utf16().count() > 1024 {
                return error(400, "Bad Request: message caption is too long", None);
            }
            inner.next_message_id += 1;
            let size = bytes.len();
            inner.sent.push(Sent::Document {
                chat_id,
                reply_to: reply_to(params),
                file_name: file_name.clone(),
                caption,
                bytes,
            });
            ok(
                json!({"message_id": message_id, "date": 1_764_000_000, "chat": {"id": chat_id, "type": "private"},
                      "document": {"file_name": file_name, "file_id": "sent", "file_unique_id": "sent", "file_size": size}}),
            )
        }
        "getFile" => {
            let file_id = string(params, "file_id").unwrap_or_default();
            match inner.files.get(&file_id) {
                Some((path, bytes)) if bytes.len() > 20 * 1024 * 1024 => {
                    let _ = path;
                    error(400, "Bad Request: file is too big", None)
                }
                Some((path, bytes)) => ok(
                    json!({"file_id": file_id, "file_unique_id": format!("u-{file_id}"),
                                                 "file_size": bytes.len(), "file_path": path}),
                ),
                None => error(400, "Bad Request: invalid file_id", None),
            }
        }
        _ => error(404, "Not Found", None),
    }
}

/// `getUpdates`: answers at once when updates are waiting, else long-polls up to `timeout`
/// seconds. An `offset` confirms (forgets) every earlier update, as the Bot API does.
async fn get_updates(app: &AppState, params: &HashMap<String, Value>) -> Response {
    let offset = int(params, "offset").unwrap_or(0);
    let limit = int(params, "limit").unwrap_or(100).clamp(1, 100) as usize;
    let mut timeout =
        std::time::Duration::from_secs(int(params, "timeout").unwrap_or(0).max(0) as u64);
    if app.inner.lock().unwrap().no_long_polling {
        timeout = std::time::Duration::ZERO;
    }
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        {
            let mut inner = app.inner.lock().unwrap();
            inner.updates.retain(|(id, _)| *id >= offset);
            if !inner.updates.is_empty() || tokio::time::Instant::now() >= deadline {
                // Written by hand: the updates are served exactly as queued.
                let items: Vec<&str> = inner
                    .updates
                    .iter()
                    .take(limit)
                    .map(|(_, text)| text.as_str())
                    .collect();
                let body = format!(r#"{{"ok":true,"result":[{}]}}"#, items.join(","));
                return (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/json")],
                    body,
                )
                    .into_response();
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn download(
    State(app): State<AppState>,
    Path((bot, path)): Path<(String, String)>,
) -> Response {
    if bot != format!("bot{}", app.token) {
        return error(401, "Unauthorized", None);
    }
    let inner = app.inner.lock().unwrap();
    match inner.files.values().find(|(p, _)| *p == path) {
        Some((_, bytes)) => (StatusCode::OK, Bytes::from(bytes.clone())).into_response(),
        None => error(404, "Not Found", None),
    }
}

/// The text users see for a message, or the error Telegram answers: an empty or too long text,
/// or HTML that does not parse (Telegram's HTML parse mode: the tags it supports, balanced, and
/// only the entities `&lt;`, `&gt;`, `&amp;`, `&quot;` and numeric ones).
#[allow(clippy::result_large_err)]
fn visible(raw: &str, html: bool) -> Result<String, Response> {
    let text = if html {
        parse_html(raw).map_err(|e| {
            error(
                400,
                &format!("Bad Request: can't parse entities: {e}"),
                None,
            )
        })?
    } else {
        raw.to_string()
    };
    // Telegram strips a message's leading and trailing white space.
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err(error(400, "Bad Request: message text is empty", None));
    }
    if text.encode_utf16().count() > 4096 {
        return Err(error(400, "Bad Request: message is too long", None));
    }
    Ok(text)
}

const TAGS: &[&str] = &[
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "code",
    "pre",
    "a",
    "span",
    "tg-spoiler",
    "tg-emoji",
    "blockquote",
];

fn parse_html(raw: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut open: Vec<String> = Vec::new();
    let mut rest = raw;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let end = rest.find('>').ok_or_else(|| {
                    format!(
                        "Unclosed start tag at byte offset {}",
                        raw.len() - rest.len()
                    )
                })?;
                let tag = &rest[1..end];
                let (closing, body) = match tag.strip_prefix('/') {
                    Some(body) => (true, body),
                    None => (false, tag),
                };
                let name = body
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase();
                if !TAGS.contains(&name.as_str()) {
                    return Err(format!(
                        "Unsupported start tag \"{name}\" at byte offset {}",
                        raw.len() - rest.len()
                    ));
                }
                if closing {
                    if open.pop().as_deref() != Some(name.as_str()) {
                        return Err(format!(
                            "Unmatched end tag at byte offset {}, expected \"</{name}>\"",
                            raw.len() - rest.len()
                        ));
                    }
                } else {
                    open.push(name);
                }
                rest = &rest[end + 1..];
            }
            '&' => {
                let end = rest.find(';').filter(|e| *e <= 10).ok_or_else(|| {
                    format!(
                        "Character entity expected at byte offset {}",
                        raw.len() - rest.len()
                    )
                })?;
                let entity = &rest[1..end];
                let decoded = match entity {
                    "lt" => '<',
                    "gt" => '>',
                    "amp" => '&',
                    "quot" => '"',
                    numeric if numeric.starts_with('#') => numeric[1..]
                        .parse::<u32>()
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or_else(|| format!("Unsupported entity \"{entity}\""))?,
                    _ => return Err(format!("Unsupported entity \"{entity}\"")),
                };
                out.push(decoded);
                rest = &rest[end + 1..];
            }
            c => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if let Some(name) = open.pop() {
        return Err(format!(
            "Can't find end tag corresponding to start tag \"{name}\""
        ));
    }
    Ok(out)
}
