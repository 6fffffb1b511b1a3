//! A local Telegram Bot API: `{base}/bot<token>/<method>` and `{base}/file/bot<token>/<path>`,
//! answering with the documented envelope (`{ok, result}` / `{ok: false, error_code,
//! description, parameters}`). It records what the bot sends, serves uploaded files and queued
//! updates, and can be told to answer the next calls of a method with an error.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};

mod failures;
mod html;
mod methods;
mod params;
mod webhook;

use failures::control_fail;
pub use failures::{Failure, Shape};
pub use webhook::Delivery;

use params::{Call, int, parameters};

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
    /// The webhook `setWebhook` set, if any.
    webhook: Option<webhook::Webhook>,
    /// The webhook's last failed delivery: (Unix time, what Telegram reports).
    webhook_error: Option<(u64, String)>,
    /// Every POST to the webhook, in order.
    deliveries: Vec<Delivery>,
    /// Public HTTPS origin → the local HTTP server a reverse proxy carries it to.
    proxies: HashMap<String, String>,
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
        let telegram = FakeTelegram {
            base_url,
            token: token.to_string(),
            inner,
        };
        tokio::spawn(webhook::push(telegram.clone()));
        telegram
    }

    /// Has a reverse proxy carry `public_origin` (`https://host[:port]`, as in a webhook URL) to
    /// the local HTTP server at `local` (`http://127.0.0.1:port`).
    pub fn proxy(&self, public_origin: &str, local: &str) {
        self.inner.lock().unwrap().proxies.insert(
            public_origin.trim_end_matches('/').to_string(),
            local.to_string(),
        );
    }

    /// The webhook set now, if any: its URL and secret.
    pub fn webhook(&self) -> Option<(String, Option<String>)> {
        let inner = self.inner.lock().unwrap();
        inner
            .webhook
            .as_ref()
            .map(|w| (w.url.clone(), w.secret.clone()))
    }

    /// The update kinds the webhook asked for (empty: all but the opt-in ones).
    pub fn webhook_allowed_updates(&self) -> Vec<String> {
        let inner = self.inner.lock().unwrap();
        inner
            .webhook
            .as_ref()
            .map(|w| w.allowed_updates.clone())
            .unwrap_or_default()
    }

    /// Every POST to the webhook so far, in order.
    pub fn webhook_deliveries(&self) -> Vec<Delivery> {
        self.inner.lock().unwrap().deliveries.clone()
    }

    /// Updates not yet delivered (by `getUpdates` or the webhook).
    pub fn pending_updates(&self) -> usize {
        self.inner.lock().unwrap().updates.len()
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

async fn method(
    State(app): State<AppState>,
    Path((bot, method)): Path<(String, String)>,
    request: Request,
) -> Response {
    if bot != format!("bot{}", app.token) {
        return error(401, "Unauthorized", None);
    }
    let call = match parameters(request).await {
        Ok(call) => call,
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
    let webhook_set = app.inner.lock().unwrap().webhook.is_some();
    let done = if method == "getUpdates" && webhook_set {
        Failure::webhook_set().answer(ok(json!(null))).await
    } else if method == "getUpdates" {
        get_updates(&app, &call.fields).await
    } else {
        perform(&mut app.inner.lock().unwrap(), &method, call)
    };
    match failure {
        Some(failure) => failure.answer(done).await,
        None => done,
    }
}

/// Routes a call other than `getUpdates` to its method.
fn perform(inner: &mut Inner, method: &str, call: Call) -> Response {
    match method {
        "getMe" => methods::get_me(),
        "sendMessage" => methods::send_message(inner, call),
        "editMessageText" => methods::edit_message_text(inner, call),
        "setMyCommands" => methods::set_my_commands(inner, call),
        "sendChatAction" => methods::send_chat_action(inner, call),
        "sendDocument" => methods::send_document(inner, call),
        "getFile" => methods::get_file(inner, call),
        "setWebhook" => webhook::set_webhook(inner, call),
        "deleteWebhook" => webhook::delete_webhook(inner, call),
        "getWebhookInfo" => webhook::get_webhook_info(inner),
        _ => error(404, "Not Found", None),
    }
}

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
