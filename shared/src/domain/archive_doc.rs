//! The archive JSON of the original bot (`archive_version` "1.0") and the validation of archive
//! files that users send to be imported.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::events::{ChatMessage, Role};
use super::keys::session_sort_key;
use super::title::{check_title, title_from};

pub const ARCHIVE_VERSION: &str = "1.0";
/// The largest archive file accepted for import.
pub const MAX_IMPORT_BYTES: usize = 5 * 1024 * 1024;
/// The most messages an imported archive may hold.
pub const MAX_IMPORT_MESSAGES: usize = 20_000;
/// The longest model name accepted (names appear in DynamoDB sort keys).
pub const MAX_MODEL_NAME_CHARS: usize = 100;

/// An archive as stored at `archives/{user_id}/{session_id}.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchiveDocument {
    pub user_id: i64,
    pub session_id: String,
    pub model_name: String,
    pub conversation: Vec<ChatMessage>,
    pub original_sk: String,
    pub last_message_ts: i64,
    pub archived_at: String,
    pub archive_version: String,
    /// The session's title (our addition; the original's readers ignore it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// For an imported archive: the identifiers the file arrived with, kept for reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_from: Option<ImportedFrom>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportedFrom {
    pub user_id: Option<Value>,
    pub session_id: Option<Value>,
    pub original_sk: Option<Value>,
    pub archived_at: Option<Value>,
    pub imported_at: String,
}

/// Why an archive file was refused. The text is what the user reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("it is not an archive. Send an archive exported with /export (a .json file)")]
    NotAnArchiveFile,
    #[error("the file is larger than the {limit_mib} MiB an archive may be")]
    TooLarge { limit_mib: usize },
    #[error("the file is not UTF-8 text")]
    NotUtf8,
    #[error("the file is not valid JSON ({0})")]
    NotJson(String),
    #[error("the JSON is not an object with a \"conversation\" field")]
    NotAnObject,
    #[error("the archive has no \"conversation\" field")]
    MissingConversation,
    #[error("\"conversation\" is not an array of messages")]
    ConversationNotArray,
    #[error("the archive holds more than {limit} messages")]
    TooManyMessages { limit: usize },
    #[error("message {number} of the conversation {problem}")]
    BadMessage { number: usize, problem: String },
    #[error(
        "\"model_name\" must be 1 to {MAX_MODEL_NAME_CHARS} letters, digits or . _ : / - characters"
    )]
    BadModelName,
    #[error("Telegram would not hand the file over ({0})")]
    NotFetched(String),
    #[error("you already have {limit} archives, the most allowed")]
    TooManyArchives { limit: usize },
}

/// Whether a document may be an archive, by what Telegram says of it (as the original bot judged
/// it): a `.json` name or JSON's media type. Anything else is not fetched.
pub fn may_be_archive(file_name: Option<&str>, mime_type: Option<&str>) -> bool {
    file_name.is_some_and(|name| name.to_ascii_lowercase().ends_with(".json"))
        || mime_type.is_some_and(|mime| mime.eq_ignore_ascii_case("application/json"))
}

/// A validated archive file, not yet stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidImport {
    pub model_name: String,
    pub conversation: Vec<ChatMessage>,
    /// The file's title if it has a fit one, else one made from its first user message.
    pub title: Option<String>,
    pub imported_from: ImportedFrom,
}

impl ValidImport {
    pub fn last_message_ts(&self) -> i64 {
        self.conversation.iter().map(|m| m.ts).max().unwrap_or(0)
    }

    /// The document to store for `user_id` under the fresh `session_id`, whatever the file claimed.
    pub fn into_document(self, user_id: i64, session_id: Uuid) -> ArchiveDocument {
        let last_message_ts = self.last_message_ts();
        let archived_at = self.imported_from.imported_at.clone();
        ArchiveDocument {
            user_id,
            session_id: session_id.to_string(),
            original_sk: session_sort_key(&self.model_name, session_id),
            model_name: self.model_name,
            conversation: self.conversation,
            last_message_ts,
            archived_at,
            archive_version: ARCHIVE_VERSION.to_string(),
            title: self.title,
            imported_from: Some(self.imported_from),
        }
    }
}

pub fn is_valid_model_name(name: &str) -> bool {
    let count = name.chars().count();
    (1..=MAX_MODEL_NAME_CHARS).contains(&count)
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '/' | '-'))
}

/// Validates an archive file. `default_model` stands in when the file names none.
pub fn validate_import(
    bytes: &[u8],
    default_model: &str,
    imported_at: &str,
) -> Result<ValidImport, ImportError> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(ImportError::TooLarge {
            limit_mib: MAX_IMPORT_BYTES / (1024 * 1024),
        });
    }
    read_archive(bytes, default_model, imported_at)
}

/// Reads an archive by the import rules but for its size: one of the user's own, stored already
/// (a long session's archive may be larger than an import may be).
pub fn read_archive(
    bytes: &[u8],
    default_model: &str,
    imported_at: &str,
) -> Result<ValidImport, ImportError> {
    let text = std::str::from_utf8(bytes).map_err(|_| ImportError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ImportError::NotJson(format!("line {}, column {}", e.line(), e.column())))?;
    let Value::Object(mut object) = value else {
        return Err(ImportError::NotAnObject);
    };
    let conversation = match object.remove("conversation") {
        None | Some(Value::Null) => return Err(ImportError::MissingConversation),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(ImportError::ConversationNotArray),
    };
    if conversation.len() > MAX_IMPORT_MESSAGES {
        return Err(ImportError::TooManyMessages {
            limit: MAX_IMPORT_MESSAGES,
        });
    }
    let conversation = conversation
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            validate_message(item).map_err(|problem| ImportError::BadMessage {
                number: i + 1,
                problem,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let model_name = match object.remove("model_name") {
        None | Some(Value::Null) => default_model.to_string(),
        Some(Value::String(name)) if is_valid_model_name(&name) => name,
        Some(_) => return Err(ImportError::BadModelName),
    };
    let title = match object.remove("title") {
        Some(Value::String(title)) => check_title(&title).ok(),
        _ => None,
    }
    .or_else(|| {
        conversation
            .iter()
            .find(|m| m.role == Role::User)
            .and_then(|m| title_from(&m.content))
    });
    Ok(ValidImport {
        model_name,
        conversation,
        title,
        imported_from: ImportedFrom {
            user_id: object.remove("user_id"),
            session_id: object.remove("session_id"),
            original_sk: object.remove("original_sk"),
            archived_at: object.remove("archived_at"),
            imported_at: imported_at.to_string(),
        },
    })
}

fn whole_seconds(f: f64) -> Option<i64> {
    (f.is_finite() && f.abs() < 1e17).then(|| f.trunc() as i64)
}

/// A decimal number as Python's `str(Decimal)` writes one (digits, a sign, a point, an exponent).
fn looks_numeric(text: &str) -> bool {
    let text = text.trim();
    !text.is_empty()
        && text.chars().any(|c| c.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
}

fn validate_message(item: Value) -> Result<ChatMessage, String> {
    let Value::Object(mut fields) = item else {
        return Err("is not an object with role, content and ts".into());
    };
    let role = match fields.remove("role") {
        Some(Value::String(role)) => Role::parse(&role)
            .ok_or_else(|| "has a role other than user, assistant or system".to_string())?,
        Some(_) => return Err("has a role that is not text".into()),
        None => return Err("has no role".into()),
    };
    let content = match fields.remove("content") {
        Some(Value::String(content)) => content,
        Some(_) => return Err("has content that is not text".into()),
        None => return Err("has no content".into()),
    };
    let not_a_time = || "has a ts that is not a Unix time".to_string();
    let ts = match fields.remove("ts") {
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| whole_seconds(n.as_f64()?))
            .filter(|ts| *ts >= 0)
            .ok_or_else(not_a_time)?,
        // The original bot reads sessions back through boto3, which gives DynamoDB numbers as
        // `Decimal`, and writes archives with `json.dumps(..., default=str)`: its timestamps
        // are strings of digits ("1700000000").
        Some(Value::String(text)) if looks_numeric(&text) => text
            .trim()
            .parse::<i64>()
            .ok()
            .or_else(|| whole_seconds(text.trim().parse().ok()?))
            .filter(|ts| *ts >= 0)
            .ok_or_else(not_a_time)?,
        Some(_) => return Err("has a ts that is not a number".into()),
        None => return Err("has no ts".into()),
    };
    // A photo's reference, when this bot wrote it; anything else there is not ours to read.
    let image = fields
        .remove("image")
        .and_then(|image| serde_json::from_value(image).ok());
    Ok(ChatMessage {
        role,
        content,
        ts,
        image,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-11-25T10:00:00Z";

    fn validate(text: &str) -> Result<ValidImport, ImportError> {
        validate_import(text.as_bytes(), "llama3", NOW)
    }

    /// What the original's `archive_session_to_s3` really writes: the session item as boto3
    /// read it (numbers are `Decimal`), through `json.dumps(archive, indent=2, default=str)`,
    /// with `datetime.utcnow().isoformat() + 'Z'` (microseconds) for `archived_at`.
    #[test]
    fn an_archive_the_original_bot_wrote_is_accepted() {
        let written = r#"{
  "user_id": 123456789,
  "session_id": "0b8f9c1e-5a8e-4d6e-9a43-3f1f2b7d9c10",
  "model_name": "llama3",
  "conversation": [
    {
      "role": "user",
      "content": "Hello!",
      "ts": "1732540000"
    },
    {
      "role": "assistant",
      "content": "AI is not yet implemented. Your message has been saved to the conversation history for testing.",
      "ts": "1732540001"
    }
  ],
  "original_sk": "MODEL#llama3#SESSION#0b8f9c1e-5a8e-4d6e-9a43-3f1f2b7d9c10",
  "last_message_ts": "1732540001",
  "archived_at": "2024-11-25T13:07:21.512345Z",
  "archive_version": "1.0"
}"#;
        let valid = validate(written).unwrap();
        assert_eq!(valid.conversation.len(), 2);
        assert_eq!(valid.conversation[0].ts, 1732540000);
        assert_eq!(valid.last_message_ts(), 1732540001);
        // Numbers in text that are not times are still refused, with the reason.
        for (ts, problem) in [
            ("\"-5\"", "has a ts that is not a Unix time"),
            ("\"1e400\"", "has a ts that is not a Unix time"),
            ("\"soon\"", "has a ts that is not a number"),
        ] {
            let text = format!(r#"{{"conversation":[{{"role":"user","content":"a","ts":{ts}}}]}}"#);
            assert_eq!(
                validate(&text).unwrap_err(),
                ImportError::BadMessage {
                    number: 1,
                    problem: problem.into()
                }
            );
        }
    }

    #[test]
    fn a_photos_reference_travels_with_its_message_and_anything_else_there_is_ignored() {
        let text = r#"{"conversation": [
            {"role": "user", "content": "What bird?", "ts": 1,
             "image": {"file_id": "AgAD-photo", "file_size": 61000, "width": 800, "height": 533}},
            {"role": "user", "content": "And this?", "ts": 2, "image": "not a photo"}
        ]}"#;
        let valid = validate(text).unwrap();
        let kept = valid.conversation[0].image.as_ref().expect("kept");
        assert_eq!((kept.file_id.as_str(), kept.width), ("AgAD-photo", 800));
        assert_eq!(valid.conversation[1].image, None);
        // Written back out, a message without a photo has no `image` key, as the original's.
        let written = serde_json::to_value(&valid.conversation).unwrap();
        assert_eq!(written[0]["image"]["file_id"], "AgAD-photo");
        assert!(written[1].get("image").is_none());
    }

    #[test]
    fn the_reference_example_is_accepted() {
        let example = r#"{
          "user_id": 123456789, "session_id": "uuid-string", "model_name": "llama3",
          "conversation": [
            {"role": "user", "content": "Hello!", "ts": 1234567890},
            {"role": "assistant", "content": "Hi there!", "ts": 1234567891}
          ],
          "original_sk": "MODEL#llama3#SESSION#uuid", "last_message_ts": 1234567891,
          "archived_at": "2024-01-15T10:30:00Z", "archive_version": "1.0"
        }"#;
        let valid = validate(example).unwrap();
        assert_eq!(valid.conversation.len(), 2);
        assert_eq!(valid.last_message_ts(), 1234567891);
        let id = Uuid::from_u128(7);
        let doc = valid.into_document(42, id);
        assert_eq!(doc.user_id, 42, "the sender's id replaces the claimed one");
        assert_eq!(doc.session_id, id.to_string());
        assert_eq!(doc.original_sk, format!("MODEL#llama3#SESSION#{id}"));
        assert_eq!(doc.archive_version, "1.0");
        let from = doc.imported_from.unwrap();
        assert_eq!(from.user_id, Some(serde_json::json!(123456789)));
        assert_eq!(from.session_id, Some(serde_json::json!("uuid-string")));
    }

    #[test]
    fn a_missing_model_takes_the_default_and_float_times_are_truncated() {
        let valid =
            validate(r#"{"conversation":[{"role":"user","content":"x","ts":17.9}]}"#).unwrap();
        assert_eq!(valid.model_name, "llama3");
        assert_eq!(valid.conversation[0].ts, 17);
    }

    #[test]
    fn hostile_files_are_refused_with_a_reason() {
        let cases: &[(&[u8], ImportError)] = &[
            (b"\xff\xfe\x00", ImportError::NotUtf8),
            (b"hello", ImportError::NotJson("line 1, column 1".into())),
            (b"[1,2]", ImportError::NotAnObject),
            (b"{}", ImportError::MissingConversation),
            (br#"{"conversation":"hi"}"#, ImportError::ConversationNotArray),
            (
                br#"{"conversation":[{"role":"user","content":5,"ts":1}]}"#,
                ImportError::BadMessage { number: 1, problem: "has content that is not text".into() },
            ),
            (
                br#"{"conversation":[{"role":"user","content":"a","ts":1},{"role":"root","content":"b","ts":2}]}"#,
                ImportError::BadMessage {
                    number: 2,
                    problem: "has a role other than user, assistant or system".into(),
                },
            ),
            (
                br#"{"conversation":[{"role":"user","content":"a","ts":"yesterday"}]}"#,
                ImportError::BadMessage { number: 1, problem: "has a ts that is not a number".into() },
            ),
            (
                br#"{"conversation":[{"role":"user","content":"a","ts":-5}]}"#,
                ImportError::BadMessage { number: 1, problem: "has a ts that is not a Unix time".into() },
            ),
            (
                br#"{"conversation":[], "model_name":"../../etc/passwd"}"#,
                ImportError::BadModelName,
            ),
            (br#"{"conversation":[], "model_name":"a#b"}"#, ImportError::BadModelName),
        ];
        for (bytes, expected) in cases {
            assert_eq!(
                validate_import(bytes, "llama3", NOW).unwrap_err(),
                *expected,
                "for {:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn size_and_depth_limits_hold() {
        let huge = vec![b' '; MAX_IMPORT_BYTES + 1];
        assert_eq!(
            validate_import(&huge, "m", NOW).unwrap_err(),
            ImportError::TooLarge { limit_mib: 5 }
        );
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(matches!(
            validate(&deep).unwrap_err(),
            ImportError::NotJson(_)
        ));
        let many = format!(
            r#"{{"conversation":[{}]}}"#,
            vec![r#"{"role":"user","content":"","ts":1}"#; MAX_IMPORT_MESSAGES + 1].join(",")
        );
        assert_eq!(
            validate(&many).unwrap_err(),
            ImportError::TooManyMessages {
                limit: MAX_IMPORT_MESSAGES
            }
        );
    }

    #[test]
    fn documents_round_trip_through_json() {
        let doc = validate(r#"{"conversation":[{"role":"system","content":"be brief","ts":3}]}"#)
            .unwrap()
            .into_document(1, Uuid::from_u128(1));
        let text = serde_json::to_string(&doc).unwrap();
        let back: ArchiveDocument = serde_json::from_str(&text).unwrap();
        assert_eq!(back, doc);
    }
}
