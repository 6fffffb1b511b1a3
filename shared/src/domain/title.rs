//! Session titles: made from a session's first message, or given with `/rename`.

/// About how long a title made from a first message is (cut at a word boundary).
pub const MADE_TITLE_CHARS: usize = 40;
/// The longest title `/rename` accepts.
pub const MAX_TITLE_CHARS: usize = 64;

/// A title from a first message: its words on one line, cut at a word boundary near
/// [`MADE_TITLE_CHARS`] with "…". `None` for a message with no words.
pub fn title_from(text: &str) -> Option<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let line = words.join(" ");
    if line.is_empty() {
        return None;
    }
    if line.chars().count() <= MADE_TITLE_CHARS {
        return Some(line);
    }
    let mut title = String::new();
    for word in &words {
        let next = title.chars().count() + usize::from(!title.is_empty()) + word.chars().count();
        if next > MADE_TITLE_CHARS {
            break;
        }
        if !title.is_empty() {
            title.push(' ');
        }
        title.push_str(word);
    }
    if title.is_empty() {
        // One word longer than a title: cut inside it.
        title = line.chars().take(MADE_TITLE_CHARS).collect();
    }
    let title = title
        .trim_end_matches([',', ';', ':', '-', '—'])
        .to_string();
    Some(format!("{title}…"))
}

/// Why a title given with `/rename` is refused, if it is.
pub fn check_title(title: &str) -> Result<String, TitleProblem> {
    let line = title.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.chars().count() {
        0 => Err(TitleProblem::Empty),
        n if n > MAX_TITLE_CHARS => Err(TitleProblem::TooLong { chars: n }),
        _ => Ok(line),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TitleProblem {
    Empty,
    TooLong { chars: usize },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_messages_are_their_own_title_on_one_line() {
        assert_eq!(
            title_from("  Why is\nthe sky  blue? ").as_deref(),
            Some("Why is the sky blue?")
        );
        assert_eq!(title_from(" \n\t "), None);
    }

    #[test]
    fn long_messages_are_cut_at_a_word_boundary() {
        let title = title_from(
            "Explain how event sourcing differs from keeping only the current state, with examples",
        )
        .unwrap();
        assert_eq!(title, "Explain how event sourcing differs from…");
        assert!(title.chars().count() <= MADE_TITLE_CHARS + 1);
        let word = "x".repeat(100);
        assert_eq!(
            title_from(&word).unwrap().chars().count(),
            MADE_TITLE_CHARS + 1
        );
        // Multi-byte characters count as one each and are never split.
        let title = title_from(&"жизнь ".repeat(20)).unwrap();
        assert_eq!(title, format!("{}…", ["жизнь"; 6].join(" ")));
    }

    #[test]
    fn renames_are_one_line_and_at_most_64_characters() {
        assert_eq!(
            check_title(" Trip\nto  Rome ").as_deref(),
            Ok("Trip to Rome")
        );
        assert_eq!(check_title("   "), Err(TitleProblem::Empty));
        assert_eq!(
            check_title(&"a".repeat(65)),
            Err(TitleProblem::TooLong { chars: 65 })
        );
    }
}
