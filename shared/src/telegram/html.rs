//! Renders a model's Markdown-ish answer as Telegram HTML that Telegram always accepts: every
//! `<`, `>` and `&` of the text is escaped, and only balanced tags are produced — fenced code
//! blocks (`<pre><code>`), inline code (`<code>`) and `**bold**` (`<b>`) closed on the same line.
//! A fence left open (a streamed answer, or one split across messages) is closed at the end.

/// Escapes text for Telegram's HTML parse mode.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

/// Whether rendered `html` would show no text at all (only tags and spacing, such as the
/// `<pre><code></code></pre>` of an answer that has only begun a code block), which Telegram
/// refuses as an empty message.
pub fn shows_nothing(html: &str) -> bool {
    let mut inside_tag = false;
    !html.chars().any(|c| match c {
        '<' => {
            inside_tag = true;
            false
        }
        '>' => {
            inside_tag = false;
            false
        }
        c => !inside_tag && !c.is_whitespace(),
    })
}

/// Whether `markdown` ends inside a fenced code block.
pub fn ends_in_code_block(markdown: &str, starts_in_code_block: bool) -> bool {
    let fences = markdown
        .lines()
        .filter(|l| l.trim_start().starts_with("```"))
        .count();
    (fences % 2 == 1) != starts_in_code_block
}

/// Renders `markdown`; `starts_in_code_block` when an earlier message left a fence open. Only
/// formatting marks are dropped: text beside a fence on its line is kept (after a closing fence
/// as ordinary text, after an opening one as the first line of code unless it names a language).
pub fn render(markdown: &str, starts_in_code_block: bool) -> String {
    let mut out = String::with_capacity(markdown.len() + 32);
    let mut in_code = starts_in_code_block;
    if in_code {
        out.push_str("<pre><code>");
    }
    for (index, line) in markdown.split('\n').enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match fence {
            Some(rest) if in_code => {
                out.push_str("</code></pre>");
                in_code = false;
                if !rest.trim().is_empty() {
                    out.push('\n');
                    out.push_str(&render_line(rest.trim_start()));
                }
            }
            Some(rest) => {
                if index > 0 {
                    out.push('\n');
                }
                let info = rest.trim();
                if is_language(info) {
                    out.push_str(&format!("<pre><code class=\"language-{info}\">"));
                } else {
                    out.push_str("<pre><code>");
                    if !info.is_empty() {
                        out.push_str(&escape(rest.trim_start()));
                    }
                }
                in_code = true;
            }
            None => {
                if index > 0 && !out.ends_with("<code>") && !out.ends_with("\">") {
                    out.push('\n');
                }
                if in_code {
                    out.push_str(&escape(line));
                } else {
                    out.push_str(&render_line(line));
                }
            }
        }
    }
    if in_code {
        out.push_str("</code></pre>");
    }
    out
}

/// A fence's info string that names a language (`rust`, `c++`, `objective-c`), as opposed to
/// text written on the fence's line.
fn is_language(info: &str) -> bool {
    !info.is_empty()
        && info
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+#-_.".contains(c))
}

/// Inline code and bold within one line; anything unbalanced stays as literal text.
fn render_line(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while !rest.is_empty() {
        let code = rest.find('`');
        let bold = rest.find("**");
        match (code, bold) {
            (Some(at), _) if bold.is_none_or(|b| at < b) => {
                if let Some(len) = rest[at + 1..].find('`').filter(|len| *len > 0) {
                    out.push_str(&escape(&rest[..at]));
                    out.push_str("<code>");
                    out.push_str(&escape(&rest[at + 1..at + 1 + len]));
                    out.push_str("</code>");
                    rest = &rest[at + 2 + len..];
                } else {
                    out.push_str(&escape(&rest[..at + 1]));
                    rest = &rest[at + 1..];
                }
            }
            (_, Some(at)) => {
                if let Some(len) = rest[at + 2..].find("**").filter(|len| *len > 0) {
                    out.push_str(&escape(&rest[..at]));
                    out.push_str("<b>");
                    out.push_str(&render_code_only(&rest[at + 2..at + 2 + len]));
                    out.push_str("</b>");
                    rest = &rest[at + 4 + len..];
                } else {
                    out.push_str(&escape(&rest[..at + 2]));
                    rest = &rest[at + 2..];
                }
            }
            _ => {
                out.push_str(&escape(rest));
                rest = "";
            }
        }
    }
    out
}

/// Bold text may hold inline code, but no further bold.
fn render_code_only(text: &str) -> String {
    render_line(&text.replace("**", ""))
        .replace("<b>", "")
        .replace("</b>", "")
}

#[cfg(test)]
mod tests {
    use super::{ends_in_code_block, render, shows_nothing};
    use proptest::prelude::*;

    #[test]
    fn formatting_alone_shows_nothing() {
        assert!(shows_nothing(&render("```python", false)));
        assert!(shows_nothing(&render("```\n  \n", false)));
        assert!(!shows_nothing(&render("```\nx", false)));
        assert!(
            !shows_nothing(&render("**", false)),
            "unbalanced marks show"
        );
    }

    /// What Telegram shows of rendered HTML (tags dropped, entities read), with a code block's
    /// language, which the renderer moves into the tag, put back.
    fn shown(html: &str) -> String {
        let mut text = String::new();
        let mut rest = html;
        while let Some(at) = rest.find('<') {
            text.push_str(&rest[..at]);
            let end = rest[at..].find('>').expect("tags are closed") + at;
            if let Some(language) = rest[at..end].strip_prefix("<code class=\"language-") {
                text.push_str(language.trim_end_matches('"'));
            }
            rest = &rest[end + 1..];
        }
        text.push_str(rest);
        text.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    }

    /// The characters a reader cares about: formatting marks and spacing aside.
    fn content(text: &str) -> String {
        text.chars()
            .filter(|c| !c.is_whitespace() && *c != '`' && *c != '*')
            .collect()
    }

    proptest! {
        #[test]
        fn every_character_of_the_answer_is_shown(
            pieces in proptest::collection::vec(
                prop_oneof![
                    Just("```".to_string()),
                    Just("```rust".to_string()),
                    Just("**".to_string()),
                    Just("`".to_string()),
                    Just("\n".to_string()),
                    "[a-z <>&_*`#+.-]{1,6}",
                ],
                0..40,
            ),
            starts_in_code_block in any::<bool>(),
        ) {
            let markdown = pieces.concat();
            let html = render(&markdown, starts_in_code_block);
            prop_assert_eq!(content(&shown(&html)), content(&markdown), "{}", html);
        }
    }

    #[test]
    fn text_is_escaped_and_markdown_becomes_balanced_tags() {
        assert_eq!(
            render("a < b && **c** is `x<y>`", false),
            "a &lt; b &amp;&amp; <b>c</b> is <code>x&lt;y&gt;</code>"
        );
        assert_eq!(render("<b>not a tag", false), "&lt;b&gt;not a tag");
        assert_eq!(render("**open bold", false), "**open bold");
        assert_eq!(render("one ` tick", false), "one ` tick");
    }

    #[test]
    fn fences_become_pre_blocks_and_open_ones_are_closed() {
        assert_eq!(
            render("Run:\n```rust\nfn main() {}\n```\ndone", false),
            "Run:\n<pre><code class=\"language-rust\">fn main() {}</code></pre>\ndone"
        );
        assert_eq!(
            render("```\nlet x = 1 < 2;", false),
            "<pre><code>let x = 1 &lt; 2;</code></pre>"
        );
        assert_eq!(
            render("still code\n```\nafter", true),
            "<pre><code>still code</code></pre>\nafter"
        );
        assert_eq!(
            render("```\ncode\n``` and after", false),
            "<pre><code>code</code></pre>\nand after"
        );
        assert_eq!(
            render("```not a language\ncode", false),
            "<pre><code>not a language\ncode</code></pre>"
        );
        assert!(ends_in_code_block("```\nopen", false));
        assert!(!ends_in_code_block("```\nclosed\n```", false));
        assert!(!ends_in_code_block("closing\n```", true));
    }
}
