//! A lenient view of a raw Telegram `Update`: only the fields the bot uses, every other field and
//! every unknown update kind tolerated (the poller forwards updates as raw JSON).

use serde::Deserialize;

use super::events::ImageRef;

/// What an update asks of the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub update_id: i64,
    pub user_id: i64,
    /// The sender's `@username` (without the `@`), if they have one.
    pub username: Option<String>,
    pub chat_id: i64,
    pub chat: ChatKind,
    /// The message's id in its chat (answers in groups reply to it).
    pub message_id: i64,
    /// Who wrote the message this one replies to, if it is a reply.
    pub reply_to_user: Option<i64>,
    /// The `@usernames` the text mentions (without the `@`, lower case).
    pub mentions: Vec<String>,
    pub first_name: String,
    /// The message's `date` (Unix seconds): the timestamp the conversation records.
    pub date: i64,
    pub content: Content,
}

/// Where a message was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatKind {
    /// The user's private chat with the bot (chat id = user id).
    Private,
    /// A group or supergroup: the chat's own sessions, answered only when addressed.
    Group,
}

impl Incoming {
    /// The stream (and archive prefix) the message belongs to: the sender's own in a private
    /// chat, the group's (keyed by the chat id, which is negative) in a group.
    pub fn owner(&self) -> i64 {
        match self.chat {
            ChatKind::Private => self.user_id,
            ChatKind::Group => self.chat_id,
        }
    }

    /// Whether a group message calls on the bot: a command, a mention of `bot_username`, or a
    /// reply to one of the bot's (`bot_id`) messages. Every private message does.
    pub fn is_addressed(&self, bot_id: Option<i64>, bot_username: Option<&str>) -> bool {
        if self.chat == ChatKind::Private {
            return true;
        }
        let command =
            matches!(&self.content, Content::Text(text) if text.trim_start().starts_with('/'));
        let mentioned = bot_username.is_some_and(|name| {
            let name = name.trim_start_matches('@');
            self.mentions.iter().any(|m| m.eq_ignore_ascii_case(name))
        });
        let replied_to = bot_id.is_some() && self.reply_to_user == bot_id;
        command || mentioned || replied_to
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Text(String),
    Document(DocumentRef),
    Photo(PhotoRef),
    Voice(VoiceRef),
    /// A message kind the bot does not handle (sticker, video, ...), named for the reply.
    Unsupported(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRef {
    pub file_id: String,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    pub file_size: Option<u64>,
}

/// The largest photo size taken: Telegram sends each photo in several sizes.
pub const MAX_PHOTO_BYTES: u64 = 10 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoRef {
    /// The largest size under [`MAX_PHOTO_BYTES`].
    pub image: ImageRef,
    pub caption: Option<String>,
}

/// A voice message as Telegram keeps it (Opus in OGG), to download and transcribe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceRef {
    pub file_id: String,
    /// Seconds, as the sender's app recorded it.
    pub duration: u64,
    pub file_size: Option<u64>,
    pub mime_type: Option<String>,
}

/// How long an update will likely take, so a dispatcher can keep workers for quick ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// A command, a file, anything not sent to the model: milliseconds.
    Quick,
    /// A chat message the model will answer (seconds to minutes), from `sender`.
    Answer { sender: i64 },
}

impl Lane {
    /// The lane of a raw update's text. Unreadable text is quick: it fails at once.
    pub fn of(raw: &str) -> Lane {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(raw) else {
            return Lane::Quick;
        };
        match classify(&value) {
            Ok(Classified::Message(Incoming {
                user_id,
                content: Content::Text(text),
                ..
            })) if !text.trim_start().starts_with('/') && !text.trim().is_empty() => {
                Lane::Answer { sender: user_id }
            }
            // A photo may be answered without a caption (a model that sees it describes it).
            Ok(Classified::Message(Incoming {
                user_id,
                content: Content::Photo(_) | Content::Voice(_),
                ..
            })) => Lane::Answer { sender: user_id },
            _ => Lane::Quick,
        }
    }
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
    #[serde(default)]
    message_id: i64,
    date: i64,
    chat: RawChat,
    from: Option<RawUser>,
    text: Option<String>,
    #[serde(default)]
    entities: Vec<RawEntity>,
    document: Option<RawDocument>,
    photo: Option<Vec<RawPhotoSize>>,
    voice: Option<RawVoice>,
    caption: Option<String>,
    #[serde(default)]
    caption_entities: Vec<RawEntity>,
    reply_to_message: Option<RawRepliedTo>,
}

#[derive(Deserialize)]
struct RawChat {
    id: i64,
    #[serde(default, rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct RawUser {
    id: i64,
    #[serde(default)]
    is_bot: bool,
    #[serde(default)]
    first_name: String,
    username: Option<String>,
}

#[derive(Deserialize)]
struct RawEntity {
    #[serde(rename = "type")]
    kind: String,
    offset: usize,
    length: usize,
}

#[derive(Deserialize)]
struct RawRepliedTo {
    from: Option<RawRepliedFrom>,
}

#[derive(Deserialize)]
struct RawRepliedFrom {
    id: i64,
}

/// The `@names` of a text's `mention` entities (offsets count UTF-16 code units).
fn mentions(text: &str, entities: &[RawEntity]) -> Vec<String> {
    let units: Vec<u16> = text.encode_utf16().collect();
    entities
        .iter()
        .filter(|e| e.kind == "mention")
        .filter_map(|e| units.get(e.offset..e.offset.checked_add(e.length)?))
        .map(String::from_utf16_lossy)
        .map(|m| m.trim_start_matches('@').to_ascii_lowercase())
        .collect()
}

#[derive(Deserialize)]
struct RawDocument {
    file_id: String,
    file_name: Option<String>,
    mime_type: Option<String>,
    file_size: Option<u64>,
}

#[derive(Deserialize)]
struct RawVoice {
    file_id: String,
    #[serde(default)]
    duration: u64,
    file_size: Option<u64>,
    mime_type: Option<String>,
}

#[derive(Deserialize)]
struct RawPhotoSize {
    file_id: String,
    #[serde(default)]
    width: u32,
    #[serde(default)]
    height: u32,
    file_size: Option<u64>,
}

/// The largest size Telegram sent that is under the limit (sizes come smallest first; one
/// without a size counts as small enough), else the smallest.
fn chosen_size(sizes: Vec<RawPhotoSize>) -> Option<ImageRef> {
    let fits = |s: &RawPhotoSize| s.file_size.is_none_or(|size| size <= MAX_PHOTO_BYTES);
    let area = |s: &RawPhotoSize| u64::from(s.width) * u64::from(s.height);
    let chosen = match sizes.iter().filter(|s| fits(s)).max_by_key(|s| area(s)) {
        Some(size) => size,
        None => sizes.iter().min_by_key(|s| area(s))?,
    };
    Some(ImageRef {
        file_id: chosen.file_id.clone(),
        file_size: chosen.file_size,
        width: chosen.width,
        height: chosen.height,
    })
}

/// Message fields that name a kind of content the bot does not handle.
const UNSUPPORTED_KINDS: &[(&str, &str)] = &[
    ("sticker", "sticker"),
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
    let mentions = match (message.text.as_deref(), message.caption.as_deref()) {
        (Some(text), _) => mentions(text, &message.entities),
        (None, Some(caption)) => mentions(caption, &message.caption_entities),
        (None, None) => Vec::new(),
    };
    let chat = match message.chat.kind.as_str() {
        "group" | "supergroup" => ChatKind::Group,
        // Without a type (hand-written updates), a negative id is a group's.
        "" if message.chat.id < 0 => ChatKind::Group,
        _ => ChatKind::Private,
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
    } else if let Some(image) = message.photo.and_then(chosen_size) {
        Content::Photo(PhotoRef {
            image,
            caption: message.caption.filter(|c| !c.trim().is_empty()),
        })
    } else if let Some(voice) = message.voice {
        Content::Voice(VoiceRef {
            file_id: voice.file_id,
            duration: voice.duration,
            file_size: voice.file_size,
            mime_type: voice.mime_type,
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
        username: from.username,
        chat_id: message.chat.id,
        chat,
        message_id: message.message_id,
        reply_to_user: message.reply_to_message.and_then(|r| r.from).map(|f| f.id),
        mentions,
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
                username: None,
                chat_id: -100,
                chat: ChatKind::Group,
                message_id: 5,
                reply_to_user: None,
                mentions: Vec::new(),
                first_name: "Ada".into(),
                date: 1700000000,
                content: Content::Text("hi".into()),
            })
        );
    }

    #[test]
    fn group_messages_are_addressed_by_commands_mentions_and_replies() {
        let classify_group = |extra| match classify(&message(extra)).unwrap() {
            Classified::Message(incoming) => incoming,
            other => panic!("expected a message, got {other:?}"),
        };
        let plain = classify_group(json!({"text": "hi all"}));
        assert_eq!(plain.owner(), -100, "a group's messages are the group's");
        assert!(!plain.is_addressed(Some(99), Some("cloudaibot")));
        let command = classify_group(json!({"text": "/history"}));
        assert!(command.is_addressed(Some(99), Some("cloudaibot")));
        // "é" is one UTF-16 unit, "🙂" two: the offsets count units, not bytes or chars.
        let mention = classify_group(json!({"text": "é🙂 @CloudAiBot what?",
            "entities": [{"type": "mention", "offset": 4, "length": 11}]}));
        assert_eq!(mention.mentions, vec!["cloudaibot".to_string()]);
        assert!(mention.is_addressed(Some(99), Some("@cloudaibot")));
        assert!(!mention.is_addressed(Some(99), Some("otherbot")));
        let reply = classify_group(json!({"text": "and then?",
            "reply_to_message": {"message_id": 4, "date": 1, "chat": {"id": -100, "type": "group"},
                "from": {"id": 99, "is_bot": true, "first_name": "Bot"}}}));
        assert!(reply.is_addressed(Some(99), None));
        assert!(!reply.is_addressed(Some(98), None));
        let private = classify(&json!({"update_id": 1, "message": {"message_id": 1, "date": 1,
            "chat": {"id": 42, "type": "private"}, "from": {"id": 42, "first_name": "A", "username": "ada"},
            "text": "hi"}}))
        .unwrap();
        let Classified::Message(private) = private else {
            panic!("a private message")
        };
        assert_eq!(
            (private.owner(), private.username.as_deref()),
            (42, Some("ada"))
        );
        assert!(private.is_addressed(None, None));
    }

    #[test]
    fn chat_messages_take_the_answer_lane_and_commands_the_quick_one() {
        let raw = |extra| message(extra).to_string();
        assert_eq!(
            Lane::of(&raw(json!({"text": "tell me a story"}))),
            Lane::Answer { sender: 42 }
        );
        assert_eq!(Lane::of(&raw(json!({"text": " /echo hi"}))), Lane::Quick);
        assert_eq!(Lane::of(&raw(json!({"sticker": {}}))), Lane::Quick);
        assert_eq!(
            Lane::of(&raw(
                json!({"photo": [{"file_id": "p", "width": 9, "height": 9}]})
            )),
            Lane::Answer { sender: 42 }
        );
        assert_eq!(Lane::of("not json"), Lane::Quick);
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
    fn a_photo_keeps_its_caption_and_the_largest_size_under_the_limit() {
        let photo = classify(&message(json!({
            "photo": [
                {"file_id": "small", "file_unique_id": "a", "width": 90, "height": 60, "file_size": 1_200},
                {"file_id": "medium", "file_unique_id": "b", "width": 800, "height": 533, "file_size": 60_000},
                {"file_id": "huge", "file_unique_id": "c", "width": 9000, "height": 6000, "file_size": 30_000_000}
            ],
            "caption": "@cloudaibot what is this bird?",
            "caption_entities": [{"type": "mention", "offset": 0, "length": 11}]
        })))
        .unwrap();
        let Classified::Message(incoming) = photo else {
            panic!("expected a message, got {photo:?}")
        };
        assert_eq!(
            incoming.content,
            Content::Photo(PhotoRef {
                image: ImageRef {
                    file_id: "medium".into(),
                    file_size: Some(60_000),
                    width: 800,
                    height: 533,
                },
                caption: Some("@cloudaibot what is this bird?".into()),
            })
        );
        assert_eq!(
            incoming.mentions,
            ["cloudaibot"],
            "a caption addresses the bot too"
        );
        // Without a caption, and with sizes Telegram left out, the largest is taken.
        let bare = classify(&message(json!({"photo": [
            {"file_id": "p1", "width": 90, "height": 60},
            {"file_id": "p2", "width": 320, "height": 240}
        ]})))
        .unwrap();
        assert!(matches!(
            bare,
            Classified::Message(Incoming {
                content: Content::Photo(PhotoRef { ref image, caption: None }),
                ..
            }) if image.file_id == "p2"
        ));
    }

    #[test]
    fn a_voice_message_is_kept_to_be_heard_on_the_answer_lane() {
        let voice = message(json!({"voice": {"file_id": "v1", "file_unique_id": "u",
            "duration": 7, "mime_type": "audio/ogg", "file_size": 21_000}}));
        let Classified::Message(incoming) = classify(&voice).unwrap() else {
            panic!("expected a message")
        };
        assert_eq!(
            incoming.content,
            Content::Voice(VoiceRef {
                file_id: "v1".into(),
                duration: 7,
                file_size: Some(21_000),
                mime_type: Some("audio/ogg".into()),
            })
        );
        assert!(matches!(Lane::of(&voice.to_string()), Lane::Answer { .. }));
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
