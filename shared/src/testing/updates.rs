//! Telegram updates as the Bot API sends them, for tests: a private chat with Ada.

use serde_json::{Value, json};

pub fn user(user_id: i64) -> Value {
    json!({"id": user_id, "is_bot": false, "first_name": "Ada", "username": "ada", "language_code": "en"})
}

pub fn message(update_id: i64, user_id: i64, chat_id: i64, fields: Value) -> Value {
    let mut message = json!({
        "message_id": update_id * 10,
        "from": user(user_id),
        "chat": {"id": chat_id, "first_name": "Ada", "type": "private"},
        "date": 1_764_000_000 + update_id,
    });
    message
        .as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    json!({"update_id": update_id, "message": message})
}

pub fn text(update_id: i64, user_id: i64, chat_id: i64, text: &str) -> Value {
    let mut fields = json!({"text": text});
    if text.starts_with('/') {
        let length = text
            .split_whitespace()
            .next()
            .unwrap_or("")
            .encode_utf16()
            .count();
        fields["entities"] = json!([{"offset": 0, "length": length, "type": "bot_command"}]);
    }
    message(update_id, user_id, chat_id, fields)
}
