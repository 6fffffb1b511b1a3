//! Telegram's message length limit: 4,096 characters, counted in UTF-16 code units.

pub const MAX_MESSAGE_UTF16: usize = 4096;
/// Captions of documents are limited to 1,024.
pub const MAX_CAPTION_UTF16: usize = 1024;

fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// Splits `text` into messages of at most `limit` UTF-16 units, at the last line break (or else
/// space) of each piece when there is one, never inside a character. Nothing is lost but the
/// break a piece ends at.
pub fn split(text: &str, limit: usize) -> Vec<String> {
    assert!(
        limit >= 2,
        "a limit below two units cannot hold every character"
    );
    let mut pieces = Vec::new();
    let mut rest = text;
    while utf16_len(rest) > limit {
        let mut units = 0;
        let mut cut = 0;
        for (index, c) in rest.char_indices() {
            if units + c.len_utf16() > limit {
                break;
            }
            units += c.len_utf16();
            cut = index + c.len_utf8();
        }
        let head = &rest[..cut];
        let (piece, next) = match head.rfind('\n').or_else(|| head.rfind(' ')) {
            Some(at) if at > 0 => (&rest[..at], &rest[at + 1..]),
            _ => (head, &rest[cut..]),
        };
        pieces.push(piece.to_string());
        rest = next;
    }
    if !rest.is_empty() || pieces.is_empty() {
        pieces.push(rest.to_string());
    }
    pieces
}

/// Cuts `text` to at most `limit` UTF-16 units, ending with `…` when cut.
pub fn truncate(text: &str, limit: usize) -> String {
    if utf16_len(text) <= limit {
        return text.to_string();
    }
    let mut out = String::new();
    let mut units = 1;
    for c in text.chars() {
        if units + c.len_utf16() > limit {
            break;
        }
        units += c.len_utf16();
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_message() {
        assert_eq!(split("hello", 4096), vec!["hello"]);
    }

    #[test]
    fn long_text_splits_at_line_breaks_within_the_limit() {
        let text = format!("{}\n{}", "a".repeat(3000), "b".repeat(3000));
        let parts = split(&text, 4096);
        assert_eq!(parts, vec!["a".repeat(3000), "b".repeat(3000)]);
    }

    #[test]
    fn text_without_breaks_is_cut_without_losing_characters() {
        let text = "é".repeat(10_000);
        let parts = split(&text, 4096);
        assert!(parts.iter().all(|p| utf16_len(p) <= 4096));
        assert_eq!(parts.concat(), text);
    }

    #[test]
    fn astral_characters_count_two_units_and_are_never_split() {
        let text = "😀".repeat(3000);
        let parts = split(&text, 4096);
        assert!(parts.iter().all(|p| utf16_len(p) <= 4096));
        assert_eq!(parts.concat(), text);
        assert_eq!(parts[0].chars().count(), 2048);
    }

    #[test]
    fn truncation_marks_the_cut() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
