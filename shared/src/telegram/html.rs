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

/// Whether `markdown` ends inside a fenced code block.
pub fn ends_in_code_block(markdown: &str, starts_in_code_block: bool) -> bool {
    let fences = markdown
        .lines()
        .filter(|l| l.trim_start().starts_with("```"))
        .count();
    (fences % 2 == 1) != starts_in_code_block
}

/// Renders `markdown`; `starts_in_code_block` when an earlier message left a fence open.
pub fn render(markdown: &str, starts_in_code_block: bool) -> String {
    let mut out = String::with_capacity(markdown.len() + 32);
    let mut in_code = starts_in_code_block;
    if in_code {
        out.push_str("<pre><code>");
    }
    for (index, line) in markdown.split('\n').enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        if let Some(language) = fence {
            if in_code {
                out.push_str("</code></pre>");
            } else {
                if index > 0 {
                    out.push('\n');
                }
                let language = language.trim();
                if !language.is_empty()
                    && language
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+#-_.".contains(c))
                {
                    out.push_str(&format!("<pre><code class=\"language-{language}\">"));
                } else {
                    out.push_str("<pre><code>");
                }
            }
            in_code = !in_code;
            continue;
        }
        if index > 0 && !out.ends_with("<code>") && !out.ends_with("\">") {
            out.push('\n');
        }
        if in_code {
            out.push_str(&escape(line));
        } else {
            out.push_str(&render_line(line));
        }
    }
    if in_code {
        out.push_str("</code></pre>");
    }
    out
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
    use super::{ends_in_code_block, render};

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
        assert!(ends_in_code_block("```\nopen", false));
        assert!(!ends_in_code_block("```\nclosed\n```", false));
        assert!(!ends_in_code_block("closing\n```", true));
    }
}
