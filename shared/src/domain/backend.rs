//! What the handler learned from the model backend before a decision that needs it (`/status`,
//! `/model`), and how a conversation is cut to fit the model's context budget.

use super::events::ChatMessage;

/// The model backend as seen just now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendStatus {
    /// "Ollama", "OpenAI-compatible server".
    pub kind: String,
    /// Its version and models, or why it could not be asked.
    pub facts: Result<BackendFacts, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendFacts {
    pub version: Option<String>,
    pub models: Vec<String>,
}

/// Why a model's answer stopped short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerFailure {
    Unreachable,
    /// The backend lacks `model`; `installed` is what it has, if it said.
    UnknownModel {
        model: String,
        installed: Option<Vec<String>>,
    },
    Backend(String),
    /// No text for longer than the stall limit.
    Stalled,
    /// The invocation would end before the answer.
    OutOfTime,
    /// No text within the first-token limit (seconds): the backend accepted and said nothing.
    NotStarted(u64),
    /// Telegram refused the answer part way (the chat is gone, the bot blocked).
    Refused,
}

/// How much conversation goes to the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextBudget {
    /// Characters of message content, newest messages first.
    pub max_chars: usize,
    /// Always sent first, never trimmed.
    pub system_prompt: Option<String>,
}

/// The backend's model that `requested` names: the exact name, or `name:latest` for a bare name
/// (Ollama's default tag), or the same name in other letter case.
pub fn resolve_model<'a>(available: &'a [String], requested: &str) -> Option<&'a String> {
    let requested = requested.trim();
    available
        .iter()
        .find(|m| m.as_str() == requested)
        .or_else(|| {
            available
                .iter()
                .find(|m| m.strip_suffix(":latest") == Some(requested))
        })
        .or_else(|| available.iter().find(|m| m.eq_ignore_ascii_case(requested)))
}

/// The newest messages whose content fits in `max_chars` (at least the newest one, whatever its
/// size, so the model always sees what it answers), oldest first.
pub fn trim_to_budget(messages: &[ChatMessage], max_chars: usize) -> Vec<ChatMessage> {
    let mut used = 0;
    let mut kept = 0;
    for message in messages.iter().rev() {
        let size = message.content.chars().count();
        if kept > 0 && used + size > max_chars {
            break;
        }
        used += size;
        kept += 1;
    }
    messages[messages.len() - kept..].to_vec()
}

/// A model server's word that a prompt did not fit its context window (llama.cpp's
/// `exceed_context_size_error`): the prompt's size and the window's, in its own tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowExceeded {
    pub prompt_tokens: u64,
    pub window_tokens: u64,
}

/// Of a conversation the server refused as `exceeded`, how many of its newest messages to send
/// again: `sizes` are their characters, oldest first, after `fixed_chars` that always go (the
/// system prompt). The server's count for the whole prompt gives its characters per token; the
/// messages kept fill nine tenths of the window less the room kept for the answer (at most half
/// the window), since chat templates add tokens of their own. `None` when no fewer messages can
/// be sent: only the newest one (the one answered) was left.
pub fn messages_fitting(
    sizes: &[usize],
    fixed_chars: usize,
    exceeded: WindowExceeded,
    answer_tokens: u64,
) -> Option<usize> {
    if sizes.len() <= 1 || exceeded.prompt_tokens == 0 {
        return None;
    }
    let sent_chars = (fixed_chars + sizes.iter().sum::<usize>()) as u64;
    let window = exceeded.window_tokens;
    let room_tokens = window.saturating_sub(answer_tokens.min(window / 2)) * 9 / 10;
    let room_chars = (room_tokens * sent_chars / exceeded.prompt_tokens) as usize;
    let mut used = fixed_chars;
    let kept = sizes
        .iter()
        .rev()
        .take_while(|size| {
            used += **size;
            used <= room_chars
        })
        .count();
    Some(kept.clamp(1, sizes.len() - 1))
}

#[cfg(test)]
mod tests {
    use super::{WindowExceeded, messages_fitting, resolve_model, trim_to_budget};

    #[test]
    fn a_bare_name_means_its_latest_tag() {
        let available = vec!["llama3:latest".to_string(), "qwen2.5:7b".to_string()];
        assert_eq!(
            resolve_model(&available, "llama3").map(String::as_str),
            Some("llama3:latest")
        );
        assert_eq!(
            resolve_model(&available, "qwen2.5:7b").map(String::as_str),
            Some("qwen2.5:7b")
        );
        assert_eq!(resolve_model(&available, "qwen2.5"), None);
        assert_eq!(resolve_model(&available, "mistral"), None);
    }
    use crate::domain::events::{ChatMessage, Role};

    fn message(content: &str) -> ChatMessage {
        ChatMessage::new(Role::User, content, 0)
    }

    #[test]
    fn the_newest_messages_within_the_budget_are_kept_in_order() {
        let messages = vec![message("aaaa"), message("bbbb"), message("cc")];
        let kept: Vec<String> = trim_to_budget(&messages, 6)
            .into_iter()
            .map(|m| m.content)
            .collect();
        assert_eq!(kept, ["bbbb", "cc"]);
        assert_eq!(trim_to_budget(&messages, 100).len(), 3);
    }

    #[test]
    fn the_newest_message_is_kept_even_when_it_alone_is_over_budget() {
        let messages = vec![message("old"), message(&"x".repeat(50))];
        let kept = trim_to_budget(&messages, 10);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].content.len(), 50);
        assert!(trim_to_budget(&[], 10).is_empty());
    }

    #[test]
    fn a_refused_conversation_keeps_the_newest_messages_that_fit_the_window() {
        // 40 messages of 400 characters after a 200-character system prompt: 16,200 characters
        // the server counted as 4,050 tokens (4 a token), over its 4,096-token window once 1,024
        // are kept for the answer. Room: (4,096 - 1,024) * 0.9 = 2,764 tokens = 11,056
        // characters, 200 of them the system prompt: 27 messages of 400.
        let exceeded = WindowExceeded {
            prompt_tokens: 4_050,
            window_tokens: 4_096,
        };
        assert_eq!(messages_fitting(&[400; 40], 200, exceeded, 1_024), Some(27));
        // An answer limit over half the window keeps half for the prompt.
        // (4,096 / 2) * 0.9 = 1,843 tokens = 7,372 characters: 17 messages.
        assert_eq!(
            messages_fitting(&[400; 40], 200, exceeded, 100_000),
            Some(17)
        );
    }

    #[test]
    fn a_refusal_keeps_at_least_the_message_answered() {
        let exceeded = WindowExceeded {
            prompt_tokens: 22_505,
            window_tokens: 4_096,
        };
        // The newest message alone is over the room: it still goes, alone.
        assert_eq!(messages_fitting(&[10, 10, 90_000], 0, exceeded, 0), Some(1));
        // Only the message answered is left: nothing to drop.
        assert_eq!(messages_fitting(&[90_000], 0, exceeded, 0), None);
    }
}
