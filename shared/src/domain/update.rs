//! A lenient view of a raw Telegram `Update`: only the fields the bot uses, every other field and
//! every unknown update kind tolerated (the poller forwards updates as raw JSON).

use serde::Deserialize;

/// What an update asks of the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub update_id: i64,
    pub user_id: i64,
    pub chat_id: i64,
    pub first_name: String,
    /// The message's `date` (Unix seconds): the timestamp the conversation records.
    pub date: i64,
    pub content: Content,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Text(String),
    Document(DocumentRef),
    /// A message kind the bot does not handle (photo, sticker, voice, ...), named for the reply.
    Unsupported(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRef {
    pub file_id: String,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    pub file_size: Option<u64>,
}

/// How a raw update was classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classified {
    /// A new message from a user: handled.
    Message(Incoming),
    /// A valid update the bot deliberately does not answer (edits, callback queries, channel
    /// posts, messages from other bots, unknown kinds), with its id and, when known, its user.
    Ignored {
        update_id: i64,
        user_id: Option<i64>,
        kind: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Telegram update: {0}")]
pub struct MalformedUpdate(pub String);

#[derive(Deserialize)]
struct RawUpdate {
    update_id: i64,
    message: Option<RawMessage>,
}

#[derive(Deserialize)]
struct RawMessage {
    date: i64,
    chat: RawChat,
    from: Option<RawUser>,
    text: Option<String>,
    document: Option<RawDocument>,
}

#[derive(Deserialize)]
struct RawChat {
    id: i64,
}

#[derive(Deserialize)]
struct RawUser {
    id: i64,
    #[serde(default)]
    is_bot: bool,
    #[serde(default)]
    first_name: String,
}

#[derive(Deserialize)]
struct RawDocument {
    file_id: String,
    file_name: Option<String>,
    mime_type: Option<String>,
    file_size: Option<u64>,
}

/// Message fields that name a kind of content the bot does not handle.
const UNSUPPORTED_KINDS: &[(&str, &str)] = &[
    ("photo", "photo"),
    ("sticker", "sticker"),
    ("voice", "voice message"),
    ("audio", "audio file"),
    ("video", "video"),
    ("video_note", "video message"),
    ("animation", "animation"),
    ("location", "location"),
    ("contact", "contact"),
    ("poll", "poll"),
    ("dice", "dice"),
    ("venue", "venue"),
];

/// Classifies a raw update. Fails only when the JSON is not an update at all.
pub fn classify(raw: &serde_json::Value) -> Result<Classified, MalformedUpdate> {
    let update: RawUpdate =
        serde_json::from_value(raw.clone()).map_err(|e| MalformedUpdate(e.to_string()))?;
    let kind = raw
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "update_id").cloned())
        .unwrap_or_else(|| "empty".to_string());
    let Some(message) = update.message else {
        let user_id = raw
            .as_object()
            .and_then(|o| o.values().find_map(|v| v.get("from")?.get("id")?.as_i64()));
        return Ok(Classified::Ignored {
            update_id: update.update_id,
            user_id,
            kind,
        });
    };
    let Some(from) = message.from.filter(|f| !f.is_bot) else {
        return Ok(Classified::Ignored {
            update_id: update.update_id,
            user_id: None,
            kind: "message without a human sender".to_string(),
        });
    };
    let content = if let Some(text) = message.text {
        Content::Text(text)
    } else if let Some(doc) = message.document {
        Content::Document(DocumentRef {
            file_id: doc.file_id,
            file_name: doc.file_name,
            mime_type: doc.mime_type,
            file_size: doc.file_size,
        })
    } else {
        let fields = raw.get("message").and_then(|m| m.as_object());
        let name = UNSUPPORTED_KINDS
            .iter()
            .find(|(field, _)| fields.is_some_and(|f| f.contains_key(*field)))
            .map_or("message of this kind", |(_, name)| name);
        Content::Unsupported(name)
    };
    Ok(Classified::Message(Incoming {
        update_id: update.update_id,
        user_id: from.id,
        chat_id: message.chat.id,
        first_name: from.first_name,
        date: message.date,
        content,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(extra: serde_json::Value) -> serde_json::Value {
        let mut msg = json!({
            "message_id": 5, "date": 1700000000,
            "chat": {"id": -100, "type": "group"},
            "from": {"id": 42, "is_bot": false, "first_name": "Ada", "language_code": "en"}
        });
        msg.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"update_id": 7, "message": msg, "some_future_field": true})
    }

    #[test]
    fn text_messages_keep_sender_chat_and_date() {
        let got = classify(&message(json!({"text": "hi"}))).unwrap();
        assert_eq!(
            got,
            Classified::Message(Incoming {
                update_id: 7,
                user_id: 42,
                chat_id: -100,
                first_name: "Ada".into(),
                date: 1700000000,
                content: Content::Text("hi".into()),
            })
        );
    }

    #[test]
    fn documents_and_unsupported_kinds_are_recognised() {
        let doc = classify(&message(json!({"document": {
            "file_id": "F1", "file_unique_id": "U", "file_name": "a.json",
            "mime_type": "application/json", "file_size": 12}})))
        .unwrap();
        let Classified::Message(Incoming {
            content: Content::Document(d),
            ..
        }) = doc
        else {
            panic!("expected a document, got {doc:?}")
        };
        assert_eq!(d.file_name.as_deref(), Some("a.json"));
        assert_eq!(d.file_size, Some(12));

        let sticker = classify(&message(json!({"sticker": {"file_id": "S"}}))).unwrap();
        assert!(matches!(
            sticker,
            Classified::Message(Incoming {
                content: Content::Unsupported("sticker"),
                ..
            })
        ));
    }

    #[test]
    fn other_update_kinds_are_ignored_not_rejected() {
        let edited = json!({"update_id": 9, "edited_message": {
            "message_id": 1, "date": 1, "edit_date": 2, "chat": {"id": 1},
            "from": {"id": 3, "is_bot": false, "first_name": "X"}, "text": "x"}});
        assert_eq!(
            classify(&edited).unwrap(),
            Classified::Ignored {
                update_id: 9,
                user_id: Some(3),
                kind: "edited_message".into()
            }
        );
        let future = json!({"update_id": 10, "brand_new_kind": {"x": 1}});
        assert!(matches!(
            classify(&future).unwrap(),
            Classified::Ignored { update_id: 10, .. }
        ));
        let bot = message(json!({"text": "hi"}));
        let mut bot = bot;
        bot["message"]["from"]["is_bot"] = json!(true);
        assert!(matches!(
            classify(&bot).unwrap(),
            Classified::Ignored { .. }
        ));
    }

    #[test]
    fn non_updates_are_malformed() {
        assert!(classify(&json!({"hello": 1})).is_err());
        assert!(classify(&json!([1, 2])).is_err());
        assert!(classify(&json!({"update_id": "seven"})).is_err());
        assert!(classify(&json!({"update_id": 1, "message": {"text": "no chat"}})).is_err());
    }
}
