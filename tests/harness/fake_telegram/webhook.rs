//! The fake's webhook, as the Bot API documents it: `setWebhook` (HTTPS only, on ports 443, 80,
//! 88 or 8443, a `secret_token` of A-Z, a-z, 0-9, _ and -), `deleteWebhook`, `getWebhookInfo`;
//! while a webhook is set, `getUpdates` is refused with 409 and each waiting update is POSTed to
//! it, one at a time and in order, with the secret header, until it answers 2xx (Telegram gives
//! up on none, only waits longer). An HTTPS URL reaches a local HTTP server through
//! [`super::FakeTelegram::proxy`], as the user's reverse proxy or tunnel would carry it.

use std::time::Duration;

use axum::response::Response;
use serde_json::{Value, json};

use super::params::{Call, int, string};
use super::{FakeTelegram, Inner, error, ok};

/// A webhook set with `setWebhook`.
#[derive(Debug, Clone)]
pub(super) struct Webhook {
    pub url: String,
    pub secret: Option<String>,
    pub max_connections: i64,
    pub allowed_updates: Vec<String>,
}

/// One POST to the webhook: the update and how it was answered (0: no connection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub update_id: i64,
    pub status: u16,
}

/// How long the fake waits before trying a refused update again (Telegram waits longer).
const RETRY_PAUSE: Duration = Duration::from_millis(200);

fn bad_webhook(reason: &str) -> Response {
    error(400, &format!("Bad Request: bad webhook: {reason}"), None)
}

/// `setWebhook`; an empty `url` removes the webhook, as Telegram does.
pub(super) fn set_webhook(inner: &mut Inner, call: Call) -> Response {
    let url = string(&call.fields, "url").unwrap_or_default();
    if url.is_empty() {
        inner.webhook = None;
        return ok_described(json!(true), "Webhook was deleted");
    }
    let Ok(parsed) = reqwest::Url::parse(&url) else {
        return bad_webhook("Failed to resolve host: Name or service not known");
    };
    if parsed.scheme() != "https" {
        return bad_webhook("An HTTPS URL must be provided for webhook");
    }
    if !matches!(parsed.port_or_known_default(), Some(443 | 80 | 88 | 8443)) {
        return bad_webhook("Webhook can be set up only on ports 80, 88, 443 or 8443");
    }
    let secret = string(&call.fields, "secret_token").filter(|s| !s.is_empty());
    if let Some(secret) = &secret
        && (secret.len() > 256
            || !secret
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    {
        return error(
            400,
            "Bad Request: secret token contains unallowed characters",
            None,
        );
    }
    let allowed_updates = match call.fields.get("allowed_updates") {
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(|k| k.as_str().map(String::from))
            .collect(),
        // A form or query string carries it as JSON text.
        Some(Value::String(text)) => serde_json::from_str(text).unwrap_or_default(),
        _ => Vec::new(),
    };
    let max_connections = int(&call.fields, "max_connections")
        .unwrap_or(40)
        .clamp(1, 100);
    if string(&call.fields, "drop_pending_updates").is_some_and(|d| d == "true")
        || call.fields.get("drop_pending_updates") == Some(&Value::Bool(true))
    {
        inner.updates.clear();
    }
    let already = inner.webhook.as_ref().is_some_and(|w| w.url == url);
    inner.webhook = Some(Webhook {
        url,
        secret,
        max_connections,
        allowed_updates,
    });
    ok_described(
        json!(true),
        if already {
            "Webhook is already set"
        } else {
            "Webhook was set"
        },
    )
}

/// `deleteWebhook`.
pub(super) fn delete_webhook(inner: &mut Inner, call: Call) -> Response {
    if call.fields.get("drop_pending_updates") == Some(&Value::Bool(true)) {
        inner.updates.clear();
    }
    match inner.webhook.take() {
        Some(_) => ok_described(json!(true), "Webhook was deleted"),
        None => ok_described(json!(true), "Webhook is already deleted"),
    }
}

/// `getWebhookInfo`: optional fields are left out when they have no value, as Telegram does.
pub(super) fn get_webhook_info(inner: &Inner) -> Response {
    let mut info = json!({
        "url": inner.webhook.as_ref().map(|w| w.url.clone()).unwrap_or_default(),
        "has_custom_certificate": false,
        "pending_update_count": inner.updates.len(),
    });
    if let Some(webhook) = &inner.webhook {
        info["max_connections"] = json!(webhook.max_connections);
        if !webhook.allowed_updates.is_empty() {
            info["allowed_updates"] = json!(webhook.allowed_updates);
        }
        if let Some((date, message)) = &inner.webhook_error {
            info["last_error_date"] = json!(date);
            info["last_error_message"] = json!(message);
        }
    }
    ok(info)
}

fn ok_described(result: Value, description: &str) -> Response {
    use axum::response::IntoResponse;
    axum::Json(json!({"ok": true, "result": result, "description": description})).into_response()
}

/// The update's kind: its one field besides `update_id`.
fn kind(text: &str) -> Option<String> {
    let update: Value = serde_json::from_str(text).ok()?;
    update
        .as_object()?
        .keys()
        .find(|k| *k != "update_id")
        .cloned()
}

/// Delivers waiting updates to the webhook while one is set, for as long as the fake lives.
pub(super) async fn push(telegram: FakeTelegram) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    loop {
        let Some((webhook, target, (update_id, text))) = next_delivery(&telegram) else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let status = match target {
            None => 0,
            Some(target) => {
                let mut request = http
                    .post(target)
                    .header("content-type", "application/json")
                    .body(text);
                if let Some(secret) = &webhook.secret {
                    request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
                }
                request.send().await.map_or(0, |r| r.status().as_u16())
            }
        };
        if !record_delivery(&telegram, update_id, status) {
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }
}

/// Notes one POST's answer; a 2xx takes the update off the waiting list. True for a 2xx.
fn record_delivery(telegram: &FakeTelegram, update_id: i64, status: u16) -> bool {
    let mut inner = telegram.inner.lock().unwrap();
    inner.deliveries.push(Delivery { update_id, status });
    if (200..300).contains(&status) {
        inner.updates.retain(|(id, _)| *id != update_id);
        return true;
    }
    let message = match status {
        0 => "Connection refused".to_string(),
        status => format!(
            "Wrong response from the webhook: {status} {}",
            reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("")
        ),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    inner.webhook_error = Some((now, message));
    false
}

/// The webhook, where its POSTs go, and the first update waiting for it, if both are there.
fn next_delivery(telegram: &FakeTelegram) -> Option<(Webhook, Option<String>, (i64, String))> {
    let mut inner = telegram.inner.lock().unwrap();
    let webhook = inner.webhook.clone()?;
    // Kinds the webhook did not ask for are never sent.
    if !webhook.allowed_updates.is_empty() {
        inner
            .updates
            .retain(|(_, text)| kind(text).is_some_and(|k| webhook.allowed_updates.contains(&k)));
    }
    let update = inner.updates.first().cloned()?;
    let target = telegram_target(&inner, &webhook.url);
    Some((webhook, target, update))
}

/// Where the proxy carries a POST to `url`: the local server for its origin, with its path.
fn telegram_target(inner: &Inner, url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let origin = parsed.origin().ascii_serialization();
    let local = inner.proxies.get(&origin)?;
    let query = parsed.query().map(|q| format!("?{q}")).unwrap_or_default();
    Some(format!(
        "{}{}{query}",
        local.trim_end_matches('/'),
        parsed.path()
    ))
}
