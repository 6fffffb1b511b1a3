//! A call's parameters, however the bot sent them: JSON body, form, multipart (with an upload)
//! or query string, as the Bot API accepts.

use std::collections::HashMap;

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use serde_json::Value;

/// One call's parameters.
pub(super) struct Call {
    pub fields: HashMap<String, Value>,
    /// A multipart upload: its file name and bytes.
    pub upload: Option<(String, Vec<u8>)>,
}

/// The call's parameters: JSON body, form, multipart or query string, as the Bot API accepts.
pub(super) async fn parameters(request: Request) -> Result<Call, String> {
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
    Ok(Call {
        fields: params,
        upload,
    })
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace('+', " ")))
        .collect()
}

pub(super) fn int(params: &HashMap<String, Value>, name: &str) -> Option<i64> {
    match params.get(name)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

pub(super) fn string(params: &HashMap<String, Value>, name: &str) -> Option<String> {
    match params.get(name)? {
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// `reply_parameters.message_id`: a JSON object, or its text in a form upload.
pub(super) fn reply_to(params: &HashMap<String, Value>) -> Option<i64> {
    let value = params.get("reply_parameters")?;
    let object = match value {
        Value::String(text) => serde_json::from_str(text).ok()?,
        other => other.clone(),
    };
    object.get("message_id")?.as_i64()
}
