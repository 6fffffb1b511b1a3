//! How events, state, receipts and projection rows are laid out as `chatbot-sessions` items.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use uuid::Uuid;

use crate::domain::events::{ChatMessage, RecordedEvent, Role};
use crate::domain::projection::{MessageRow, Row, SessionRow};
use crate::store::{Receipt, StoreError};

pub type Item = HashMap<String, AttributeValue>;

pub const STATE_SK: &str = "STATE";
pub const EVENT_PREFIX: &str = "EVENT#";
pub const RECEIPT_PREFIX: &str = "UPDATE#";
pub const SESSION_PREFIX: &str = "MODEL#";
pub const MESSAGE_PREFIX: &str = "MSG#";
pub use crate::store::RECEIPT_TTL_SECONDS;

pub fn event_sk(version: u64) -> String {
    format!("{EVENT_PREFIX}{version:012}")
}

pub fn receipt_sk(update_id: i64) -> String {
    format!("{RECEIPT_PREFIX}{update_id}")
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn key(user_id: i64, sk: impl Into<String>) -> Item {
    HashMap::from([("pk".to_string(), n(user_id)), ("sk".to_string(), s(sk))])
}

fn with(mut item: Item, fields: impl IntoIterator<Item = (&'static str, AttributeValue)>) -> Item {
    item.extend(fields.into_iter().map(|(k, v)| (k.to_string(), v)));
    item
}

fn json<T: serde::Serialize>(value: &T) -> AttributeValue {
    s(serde_json::to_string(value).expect("domain types serialise to JSON"))
}

pub fn state_item(user_id: i64, state: &crate::domain::state::UserState) -> Item {
    with(
        key(user_id, STATE_SK),
        [("version", n(state.version)), ("state", json(state))],
    )
}

pub fn event_item(user_id: i64, recorded: &RecordedEvent, recorded_at: &str) -> Item {
    with(
        key(user_id, event_sk(recorded.version)),
        [
            ("version", n(recorded.version)),
            ("update_id", n(recorded.update_id)),
            ("event_type", s(recorded.event.name())),
            ("event", json(&recorded.event)),
            ("recorded_at", s(recorded_at)),
        ],
    )
}

/// A new receipt, leased to its writer until `lease_until`.
pub fn receipt_item(user_id: i64, receipt: &Receipt, now: i64, lease_until: i64) -> Item {
    with(
        key(user_id, receipt_sk(receipt.update_id)),
        [
            ("receipt", receipt_value(receipt)),
            ("lease_until", n(lease_until)),
            ("ttl", n(now + RECEIPT_TTL_SECONDS)),
        ],
    )
}

pub fn receipt_value(receipt: &Receipt) -> AttributeValue {
    json(receipt)
}

pub fn row_item(row: &Row) -> Item {
    match row {
        Row::Session(r) => with(
            key(r.user_id, r.sort_key()),
            [
                ("user_id", n(r.user_id)),
                ("chat_id", s(r.chat_id.to_string())),
                ("model_name", s(r.model_name.clone())),
                ("session_id", s(r.session_id.to_string())),
                ("is_active", n(u8::from(r.is_active))),
                ("last_message_ts", n(r.last_message_ts)),
                ("s3_path", s(r.s3_path.clone())),
                ("message_count", n(r.message_count)),
                ("created_at", n(r.created_at)),
            ],
        ),
        Row::Message(r) => {
            let mut item = with(
                key(r.user_id, r.sort_key()),
                [
                    ("seq", n(r.seq)),
                    ("role", s(r.role.as_str())),
                    ("content", s(r.content.clone())),
                    ("ts", n(r.ts)),
                ],
            );
            if let Some(image) = &r.image {
                item.insert("image".into(), json(image));
            }
            item
        }
    }
}

fn corrupt(what: &str, sk: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} in item {sk}"))
}

fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(corrupt(&format!("missing string {name}"), sk_of(item))),
    }
}

pub(crate) fn get_n<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v
            .parse()
            .map_err(|_| corrupt(&format!("bad number {name}"), sk_of(item))),
        _ => Err(corrupt(&format!("missing number {name}"), sk_of(item))),
    }
}

pub fn sk_of(item: &Item) -> &str {
    match item.get("sk") {
        Some(AttributeValue::S(v)) => v,
        _ => "<no sk>",
    }
}

fn from_json<T: serde::de::DeserializeOwned>(item: &Item, name: &str) -> Result<T, StoreError> {
    serde_json::from_str(get_s(item, name)?)
        .map_err(|e| corrupt(&format!("unreadable {name} ({e})"), sk_of(item)))
}

pub fn parse_state(item: &Item) -> Result<crate::domain::state::UserState, StoreError> {
    from_json(item, "state")
}

pub fn parse_event(item: &Item) -> Result<RecordedEvent, StoreError> {
    Ok(RecordedEvent {
        version: get_n(item, "version")?,
        update_id: get_n(item, "update_id")?,
        event: from_json(item, "event")?,
    })
}

pub fn parse_receipt(item: &Item) -> Result<Receipt, StoreError> {
    from_json(item, "receipt")
}

pub fn parse_message(item: &Item) -> Result<ChatMessage, StoreError> {
    Ok(ChatMessage {
        role: Role::parse(get_s(item, "role")?).ok_or_else(|| corrupt("bad role", sk_of(item)))?,
        content: get_s(item, "content")?.to_string(),
        ts: get_n(item, "ts")?,
        image: match item.contains_key("image") {
            true => Some(from_json(item, "image")?),
            false => None,
        },
    })
}

fn parse_uuid(item: &Item, text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|_| corrupt("bad session id", sk_of(item)))
}

/// A live row, or `None` for the other items of the partition (state, events, receipts).
pub fn parse_row(user_id: i64, item: &Item) -> Result<Option<Row>, StoreError> {
    let sk = sk_of(item);
    if sk.starts_with(SESSION_PREFIX) && !item.contains_key("message_count") {
        // The original bot's item, not adopted (yet): not one of ours.
        Ok(None)
    } else if sk.starts_with(SESSION_PREFIX) {
        let chat_id = get_s(item, "chat_id")?;
        Ok(Some(Row::Session(SessionRow {
            user_id: get_n(item, "user_id")?,
            chat_id: chat_id.parse().map_err(|_| corrupt("bad chat_id", sk))?,
            model_name: get_s(item, "model_name")?.to_string(),
            session_id: parse_uuid(item, get_s(item, "session_id")?)?,
            is_active: get_n::<u8>(item, "is_active")? == 1,
            last_message_ts: get_n(item, "last_message_ts")?,
            s3_path: get_s(item, "s3_path")?.to_string(),
            message_count: get_n(item, "message_count")?,
            created_at: get_n(item, "created_at")?,
        })))
    } else if let Some(rest) = sk.strip_prefix(MESSAGE_PREFIX) {
        let (session, _) = rest
            .split_once('#')
            .ok_or_else(|| corrupt("bad message key", sk))?;
        Ok(Some(Row::Message(MessageRow::of(
            user_id,
            parse_uuid(item, session)?,
            get_n(item, "seq")?,
            parse_message(item)?,
        ))))
    } else {
        Ok(None)
    }
}
