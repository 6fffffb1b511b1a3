//! What a chat shows of a message's text: plain text as it is, HTML with Telegram's tags parsed
//! away (refused, as Telegram does, when it cannot be parsed).

use axum::response::Response;

use super::error;

/// The text users see for a message, or the error Telegram answers: an empty or too long text,
/// or HTML that does not parse (Telegram's HTML parse mode: the tags it supports, balanced, and
/// only the entities `&lt;`, `&gt;`, `&amp;`, `&quot;` and numeric ones).
#[allow(clippy::result_large_err)]
pub(super) fn visible(raw: &str, html: bool) -> Result<String, Response> {
    let text = if html {
        parse_html(raw).map_err(|e| {
            error(
                400,
                &format!("Bad Request: can't parse entities: {e}"),
                None,
            )
        })?
    } else {
        raw.to_string()
    };
    // Telegram strips a message's leading and trailing white space.
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err(error(400, "Bad Request: message text is empty", None));
    }
    if text.encode_utf16().count() > 4096 {
        return Err(error(400, "Bad Request: message is too long", None));
    }
    Ok(text)
}

const TAGS: &[&str] = &[
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "code",
    "pre",
    "a",
    "span",
    "tg-spoiler",
    "tg-emoji",
    "blockquote",
];

fn parse_html(raw: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut open: Vec<String> = Vec::new();
    let mut rest = raw;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let end = rest.find('>').ok_or_else(|| {
                    format!(
                        "Unclosed start tag at byte offset {}",
                        raw.len() - rest.len()
                    )
                })?;
                let tag = &rest[1..end];
                let (closing, body) = match tag.strip_prefix('/') {
                    Some(body) => (true, body),
                    None => (false, tag),
                };
                let name = body
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase();
                if !TAGS.contains(&name.as_str()) {
                    return Err(format!(
                        "Unsupported start tag \"{name}\" at byte offset {}",
                        raw.len() - rest.len()
                    ));
                }
                if closing {
                    if open.pop().as_deref() != Some(name.as_str()) {
                        return Err(format!(
                            "Unmatched end tag at byte offset {}, expected \"</{name}>\"",
                            raw.len() - rest.len()
                        ));
                    }
                } else {
                    open.push(name);
                }
                rest = &rest[end + 1..];
            }
            '&' => {
                let end = rest.find(';').filter(|e| *e <= 10).ok_or_else(|| {
                    format!(
                        "Character entity expected at byte offset {}",
                        raw.len() - rest.len()
                    )
                })?;
                let entity = &rest[1..end];
                let decoded = match entity {
                    "lt" => '<',
                    "gt" => '>',
                    "amp" => '&',
                    "quot" => '"',
                    numeric if numeric.starts_with('#') => numeric[1..]
                        .parse::<u32>()
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or_else(|| format!("Unsupported entity \"{entity}\""))?,
                    _ => return Err(format!("Unsupported entity \"{entity}\"")),
                };
                out.push(decoded);
                rest = &rest[end + 1..];
            }
            c => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if let Some(name) = open.pop() {
        return Err(format!(
            "Can't find end tag corresponding to start tag \"{name}\""
        ));
    }
    Ok(out)
}
