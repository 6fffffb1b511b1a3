//! Photos for models that see them: which models do, and which of a conversation's photos go
//! with an answer's request.

use super::events::ChatMessage;

/// The most photos sent with one request: the newest ones (each is megabytes of base64, and
/// small vision models take few images well).
pub const MAX_PHOTOS_PER_REQUEST: usize = 3;

/// Who says whether a model sees photos.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum VisionModels {
    /// The backend's API (Ollama's `/api/show` capabilities); where it cannot say, no model does.
    #[default]
    AskBackend,
    /// `VISION_MODELS`: these models, and no others (for OpenAI-compatible servers, whose API
    /// does not tell).
    Listed(Vec<String>),
}

impl VisionModels {
    /// `VISION_MODELS`: model names separated by commas; unset or blank leaves it to the backend.
    pub fn parse(text: Option<&str>) -> VisionModels {
        let names: Vec<String> = text
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_string)
            .collect();
        if names.is_empty() {
            VisionModels::AskBackend
        } else {
            VisionModels::Listed(names)
        }
    }

    /// Whether `model` sees photos, when the configuration says (`None`: ask the backend).
    pub fn configured(&self, model: &str) -> Option<bool> {
        match self {
            VisionModels::AskBackend => None,
            // `llava` and `llava:latest` are one model to Ollama.
            VisionModels::Listed(names) => {
                let bare = |name: &str| name.trim_end_matches(":latest").to_ascii_lowercase();
                Some(names.iter().any(|name| bare(name) == bare(model.trim())))
            }
        }
    }
}

/// The positions in `context` (oldest first) of the photos to send: the newest few.
pub fn photos_to_send(context: &[ChatMessage]) -> Vec<usize> {
    let mut chosen: Vec<usize> = context
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, message)| message.image.is_some())
        .map(|(i, _)| i)
        .take(MAX_PHOTOS_PER_REQUEST)
        .collect();
    chosen.reverse();
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::events::{ImageRef, Role};

    fn photo(n: u32) -> ChatMessage {
        ChatMessage {
            image: Some(ImageRef {
                file_id: format!("p{n}"),
                file_size: None,
                width: n,
                height: n,
            }),
            ..ChatMessage::new(Role::User, format!("photo {n}"), 0)
        }
    }

    #[test]
    fn the_newest_photos_go_oldest_first() {
        let text = ChatMessage::new(Role::Assistant, "an answer", 0);
        let context = vec![
            photo(1),
            text.clone(),
            photo(2),
            photo(3),
            text.clone(),
            photo(4),
            text,
        ];
        assert_eq!(photos_to_send(&context), vec![2, 3, 5]);
        assert!(photos_to_send(&context[1..2]).is_empty());
    }

    #[test]
    fn listed_models_see_and_others_do_not() {
        let listed = VisionModels::parse(Some(" llava , gpt-4o,"));
        assert_eq!(listed.configured("llava:latest"), Some(true));
        assert_eq!(listed.configured("LLaVA"), Some(true));
        assert_eq!(listed.configured("gpt-4o"), Some(true));
        assert_eq!(listed.configured("llama3"), Some(false));
        assert_eq!(VisionModels::parse(Some("  ")), VisionModels::AskBackend);
        assert_eq!(VisionModels::AskBackend.configured("llava"), None);
    }
}
