//! Reading an update's JSON text as it travelled (from `getUpdates`, an SQS body or the embedded
//! queue). Telegram has sent text holding a lone UTF-16 surrogate escape (`"\ud800"`), which is
//! valid JSON syntax but no strict parser turns into a string: such escapes are read as U+FFFD,
//! so the update is still answered. Anything else unreadable is reported with its update id when
//! one can be found, so the caller can skip it, say so and keep the raw text.

use serde::Deserialize;

/// The most characters of an unreadable update's text written to a log line.
pub const LOGGED_TEXT_CHARS: usize = 2_000;

/// Why an update's text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable update{}: {reason}", update_id.map(|id| format!(" {id}")).unwrap_or_default())]
pub struct UnreadableUpdate {
    /// The update's id, when even that much could be read.
    pub update_id: Option<i64>,
    pub reason: String,
}

/// An update read from its text.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadUpdate {
    pub update: serde_json::Value,
    /// Whether lone surrogate escapes had to be read as U+FFFD (worth a log line).
    pub mended: bool,
}

/// Parses an update's text, reading lone surrogate escapes as U+FFFD.
pub fn read_update(text: &str) -> Result<ReadUpdate, UnreadableUpdate> {
    let first = match serde_json::from_str(text) {
        Ok(update) => {
            return Ok(ReadUpdate {
                update,
                mended: false,
            });
        }
        Err(error) => error,
    };
    if let Some(mended) = mend_lone_surrogates(text)
        && let Ok(update) = serde_json::from_str(&mended)
    {
        return Ok(ReadUpdate {
            update,
            mended: true,
        });
    }
    Err(UnreadableUpdate {
        update_id: update_id_of(text),
        reason: first.to_string(),
    })
}

/// The `update_id` of a text that may not parse as a whole (other fields are skipped unread).
pub fn update_id_of(text: &str) -> Option<i64> {
    #[derive(Deserialize)]
    struct IdOnly {
        update_id: i64,
    }
    serde_json::from_str::<IdOnly>(text)
        .ok()
        .map(|u| u.update_id)
}

/// At most [`LOGGED_TEXT_CHARS`] of `text`, for a log line.
pub fn for_log(text: &str) -> &str {
    match text.char_indices().nth(LOGGED_TEXT_CHARS) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// `text` with each `\uXXXX` escape of an unpaired surrogate replaced by `\ufffd`; `None` when
/// there is none.
fn mend_lone_surrogates(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let unit_at = |i: usize| -> Option<u16> {
        if bytes.get(i) == Some(&b'\\') && bytes.get(i + 1) == Some(&b'u') {
            u16::from_str_radix(text.get(i + 2..i + 6)?, 16).ok()
        } else {
            None
        }
    };
    let is_high = |u: u16| (0xD800..0xDC00).contains(&u);
    let is_low = |u: u16| (0xDC00..0xE000).contains(&u);
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut changed = false;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        match unit_at(i) {
            Some(high) if is_high(high) && unit_at(i + 6).is_some_and(is_low) => i += 12,
            Some(unit) if is_high(unit) || is_low(unit) => {
                out.push_str(&text[copied..i]);
                out.push_str("\\ufffd");
                i += 6;
                copied = i;
                changed = true;
            }
            Some(_) => i += 6,
            // Any other escape is two characters (`\\`, `\"`, `\n`, ...).
            None => i += 2,
        }
    }
    if !changed {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_surrogates_are_read_as_replacement_characters() {
        let text =
            r#"{"update_id": 7, "message": {"text": "a\ud800b \udc00 \\ud800 \ud83d\ude00"}}"#;
        let read = read_update(text).unwrap();
        assert!(read.mended);
        assert_eq!(
            read.update["message"]["text"],
            "a\u{fffd}b \u{fffd} \\ud800 😀"
        );
    }

    #[test]
    fn other_unreadable_text_keeps_its_update_id_when_it_has_one() {
        let error = read_update(r#"{"update_id": 8, "message": {"date": 1e400}}"#).unwrap_err();
        assert_eq!(error.update_id, Some(8));
        assert_eq!(read_update("not json").unwrap_err().update_id, None);
        assert!(read_update(r#"{"update_id": 9}"#).is_ok());
    }

    #[test]
    fn log_text_is_bounded() {
        let long = "é".repeat(LOGGED_TEXT_CHARS + 10);
        assert_eq!(for_log(&long).chars().count(), LOGGED_TEXT_CHARS);
        assert_eq!(for_log("short"), "short");
    }
}
