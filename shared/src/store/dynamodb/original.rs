//! The original bot's session items, as its `handler.py` writes them: `pk` the user, `sk`
//! `MODEL#<model>#SESSION#<id>`, `model_name`, `session_id`, `is_active` (1/0),
//! `last_message_ts`, `user_id`, `s3_path`, and `conversation`, a list of `{role, content, ts}`
//! maps. Ours share the sort key but never hold a conversation: they have `message_count`.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use uuid::Uuid;

use super::DynamoDbStore;
use super::items::{Item, SESSION_PREFIX, n, s, sk_of};
use crate::domain::adoption::OriginalSession;
use crate::domain::archive_doc::is_valid_model_name;
use crate::domain::events::{ChatMessage, Role};
use crate::store::{OriginalSessions, StoreError};

/// An attribute only our session rows have.
const OURS: &str = "message_count";

fn is_original(item: &Item) -> bool {
    sk_of(item).starts_with(SESSION_PREFIX) && !item.contains_key(OURS)
}

fn text(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

fn number(value: Option<&AttributeValue>) -> Option<i64> {
    match value {
        Some(AttributeValue::N(v)) => v
            .parse::<i64>()
            .ok()
            .or_else(|| v.parse::<f64>().ok().map(|f| f.trunc() as i64)),
        Some(AttributeValue::S(v)) => v.trim().parse().ok(),
        _ => None,
    }
}

/// One `{role, content, ts}` map; `None` for one that cannot be read (it is logged).
fn message(value: &AttributeValue, fallback_ts: i64) -> Option<ChatMessage> {
    let AttributeValue::M(fields) = value else {
        return None;
    };
    let role = match fields.get("role") {
        Some(AttributeValue::S(role)) => Role::parse(role)?,
        _ => return None,
    };
    let content = match fields.get("content") {
        Some(AttributeValue::S(content)) => content.clone(),
        Some(AttributeValue::N(number)) => number.clone(),
        _ => return None,
    };
    let ts = number(fields.get("ts")).unwrap_or(fallback_ts);
    Some(ChatMessage::new(role, content, ts))
}

/// The conversation: a list of maps, or (which the original's `/history` also accepts) a JSON
/// string of one.
fn conversation(item: &Item, fallback_ts: i64) -> (Vec<ChatMessage>, usize) {
    let values: Vec<AttributeValue> = match item.get("conversation") {
        Some(AttributeValue::L(list)) => list.clone(),
        Some(AttributeValue::S(json)) => serde_json::from_str::<Vec<serde_json::Value>>(json)
            .unwrap_or_default()
            .into_iter()
            .map(json_to_attribute)
            .collect(),
        _ => Vec::new(),
    };
    let read: Vec<ChatMessage> = values
        .iter()
        .filter_map(|v| message(v, fallback_ts))
        .collect();
    let unreadable = values.len() - read.len();
    (read, unreadable)
}

fn json_to_attribute(value: serde_json::Value) -> AttributeValue {
    use serde_json::Value;
    match value {
        Value::Object(fields) => AttributeValue::M(
            fields
                .into_iter()
                .map(|(k, v)| (k, json_to_attribute(v)))
                .collect(),
        ),
        Value::String(text) => s(text),
        Value::Number(number) => n(number),
        other => s(other.to_string()),
    }
}

/// Reads an original session item, leniently: the user's history is worth more than a field
/// the original never meant to leave out.
pub(super) fn parse(item: &Item) -> OriginalSession {
    let sort_key = sk_of(item).to_string();
    let (model_in_key, id_in_key) = sort_key
        .strip_prefix(SESSION_PREFIX)
        .and_then(|rest| rest.rsplit_once("#SESSION#"))
        .unwrap_or(("", ""));
    let session_id = text(item, "session_id")
        .and_then(|id| Uuid::parse_str(&id).ok())
        .or_else(|| Uuid::parse_str(id_in_key).ok())
        .unwrap_or_else(|| crate::domain::adoption::archive_session_id(&sort_key));
    let model_name = text(item, "model_name")
        .filter(|m| is_valid_model_name(m))
        .or_else(|| Some(model_in_key.to_string()).filter(|m| is_valid_model_name(m)))
        .unwrap_or_else(|| "unknown".to_string());
    let last_message_ts = number(item.get("last_message_ts")).unwrap_or(0);
    let is_active = match item.get("is_active") {
        Some(AttributeValue::Bool(active)) => *active,
        other => number(other) == Some(1),
    };
    let (conversation, unreadable) = conversation(item, last_message_ts);
    if unreadable > 0 {
        tracing::warn!(
            sk = %sort_key,
            unreadable,
            "messages of an original session could not be read and are not adopted"
        );
    }
    OriginalSession {
        sort_key,
        session_id,
        model_name,
        is_active,
        last_message_ts,
        conversation,
    }
}

#[async_trait]
impl OriginalSessions for DynamoDbStore {
    async fn original_sessions(&self, user_id: i64) -> Result<Vec<OriginalSession>, StoreError> {
        Ok(self
            .query_prefix(user_id, SESSION_PREFIX, false, None)
            .await?
            .iter()
            .filter(|item| is_original(item))
            .map(parse)
            .collect())
    }

    async fn users_with_original_sessions(&self) -> Result<Vec<i64>, StoreError> {
        let items = self
            .scan_all(|scan| {
                scan.filter_expression("begins_with(sk, :prefix) AND attribute_not_exists(#ours)")
                    .expression_attribute_names("#ours", OURS)
                    .expression_attribute_values(":prefix", s(SESSION_PREFIX))
                    .projection_expression("pk")
            })
            .await?;
        let users: BTreeSet<i64> = items
            .iter()
            .filter_map(|item| number(item.get("pk")))
            .filter(|id| *id > 0)
            .collect();
        Ok(users.into_iter().collect())
    }
}
