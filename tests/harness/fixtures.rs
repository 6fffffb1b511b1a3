//! Telegram updates as the Bot API sends them.

use serde_json::{Value, json};

pub use cloud_ai_shared::testing::updates::{message, text, user};

/// A group member: `username` is also their first name, capitalised.
pub fn member(user_id: i64, username: &str) -> Value {
    let mut first = username.to_string();
    first[..1].make_ascii_uppercase();
    json!({"id": user_id, "is_bot": false, "first_name": first, "username": username})
}

/// A text from `from` in the group `chat_id`, with Telegram's entities for a leading command
/// and for `@mentions`; `reply_to` makes it a reply to a message by that user.
pub fn group_text(
    update_id: i64,
    from: Value,
    chat_id: i64,
    text: &str,
    reply_to: Option<Value>,
) -> Value {
    let mut entities = Vec::new();
    let mut offset = 0;
    for word in text.split(' ') {
        let length = word.encode_utf16().count();
        if word.starts_with('/') && offset == 0 {
            entities.push(json!({"offset": 0, "length": length, "type": "bot_command"}));
        } else if word.starts_with('@') && length > 1 {
            entities.push(json!({"offset": offset, "length": length, "type": "mention"}));
        }
        offset += length + 1;
    }
    let mut message = json!({
        "message_id": update_id * 10,
        "from": from,
        "chat": {"id": chat_id, "title": "Friends", "type": "supergroup"},
        "date": 1_764_000_000 + update_id,
        "text": text,
    });
    if !entities.is_empty() {
        message["entities"] = json!(entities);
    }
    if let Some(author) = reply_to {
        message["reply_to_message"] = json!({
            "message_id": update_id * 10 - 1, "from": author, "date": 1_764_000_000,
            "chat": {"id": chat_id, "title": "Friends", "type": "supergroup"}, "text": "earlier"});
    }
    json!({"update_id": update_id, "message": message})
}

pub fn document(
    update_id: i64,
    user_id: i64,
    chat_id: i64,
    file_id: &str,
    file_name: &str,
    size: u64,
) -> Value {
    message(
        update_id,
        user_id,
        chat_id,
        json!({"document": {
            "file_name": file_name, "mime_type": "application/json",
            "file_id": file_id, "file_unique_id": format!("u-{file_id}"), "file_size": size
        }}),
    )
}

/// The example archive of the reference README, as printed there.
pub const REFERENCE_ARCHIVE: &str = r#"{
  "user_id": 123456789,
  "session_id": "uuid-string",
  "model_name": "llama3",
  "conversation": [
    {"role": "user", "content": "Hello!", "ts": 1234567890},
    {"role": "assistant", "content": "Hi there!", "ts": 1234567891}
  ],
  "original_sk": "MODEL#llama3#SESSION#uuid",
  "last_message_ts": 1234567891,
  "archived_at": "2024-01-15T10:30:00Z",
  "archive_version": "1.0"
}"#;

/// A file of the repository's `events/` folder, parsed.
pub fn event_file(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
