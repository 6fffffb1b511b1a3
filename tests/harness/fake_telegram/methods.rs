//! The Bot API methods the fake serves, one function each, on the server's state and the call's
//! parameters (`getUpdates` and downloads are in `mod.rs`: they wait, these do not).

use serde_json::{Value, json};

use super::html::visible;
use super::params::{Call, int, reply_to, string};
use super::{Inner, Sent, Shown, error, ok};
use axum::response::Response;

/// `getMe`: the bot `@cloudaibot`.
pub(super) fn get_me() -> Response {
    ok(json!({"id": 1, "is_bot": true, "first_name": "cloud-ai", "username": "cloudaibot"}))
}

/// `sendMessage`: plain or HTML text (refused when Telegram could not parse its markup), quoting `reply_parameters` when given.
pub(super) fn send_message(inner: &mut Inner, call: Call) -> Response {
    let message_id = inner.next_message_id;
    let Some(chat_id) = int(&call.fields, "chat_id") else {
        return error(400, "Bad Request: chat_id is empty", None);
    };
    let raw = string(&call.fields, "text").unwrap_or_default();
    let html = string(&call.fields, "parse_mode").is_some_and(|m| m.eq_ignore_ascii_case("html"));
    let text = match visible(&raw, html) {
        Ok(text) => text,
        Err(response) => return response,
    };
    inner.next_message_id += 1;
    inner.sent.push(Sent::Message {
        chat_id,
        reply_to: reply_to(&call.fields),
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

/// `editMessageText`: the new text of a message the bot sent; the same text again is refused, as Telegram does.
pub(super) fn edit_message_text(inner: &mut Inner, call: Call) -> Response {
    let (Some(chat_id), Some(edited_id)) = (
        int(&call.fields, "chat_id"),
        int(&call.fields, "message_id"),
    ) else {
        return error(
            400,
            "Bad Request: message identifier is not specified",
            None,
        );
    };
    let raw = string(&call.fields, "text").unwrap_or_default();
    let html = string(&call.fields, "parse_mode").is_some_and(|m| m.eq_ignore_ascii_case("html"));
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

/// `sendChatAction`: one of the documented actions.
pub(super) fn send_chat_action(inner: &mut Inner, call: Call) -> Response {
    let Some(chat_id) = int(&call.fields, "chat_id") else {
        return error(400, "Bad Request: chat_id is empty", None);
    };
    let action = string(&call.fields, "action").unwrap_or_default();
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

/// `sendDocument`: an uploaded file with a caption of at most 1024 characters.
pub(super) fn send_document(inner: &mut Inner, call: Call) -> Response {
    let message_id = inner.next_message_id;
    let Some(chat_id) = int(&call.fields, "chat_id") else {
        return error(400, "Bad Request: chat_id is empty", None);
    };
    let Some((file_name, bytes)) = call.upload else {
        return error(
            400,
            "Bad Request: there is no document in the request",
            None,
        );
    };
    let caption = string(&call.fields, "caption").unwrap_or_default();
    if caption.encode_utf16().count() > 1024 {
        return error(400, "Bad Request: message caption is too long", None);
    }
    inner.next_message_id += 1;
    let size = bytes.len();
    inner.sent.push(Sent::Document {
        chat_id,
        reply_to: reply_to(&call.fields),
        file_name: file_name.clone(),
        caption,
        bytes,
    });
    ok(
        json!({"message_id": message_id, "date": 1_764_000_000, "chat": {"id": chat_id, "type": "private"},
                  "document": {"file_name": file_name, "file_id": "sent", "file_unique_id": "sent", "file_size": size}}),
    )
}

/// `getFile`: a file added with `add_file`, refused over the Bot API's 20 MB download limit.
pub(super) fn get_file(inner: &mut Inner, call: Call) -> Response {
    let file_id = string(&call.fields, "file_id").unwrap_or_default();
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

/// `setMyCommands` as the Bot API documents it: at most 100 commands, each named by 1-32
/// lower-case letters, digits and underscores with a 1-256 character description; the scope
/// `default`, `all_group_chats` or `chat` (a chat the bot knows).
pub(super) fn set_my_commands(inner: &mut Inner, call: Call) -> Response {
    let params = &call.fields;
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
