//! A session's persona: the system prompt its model reads before the conversation.

use serde::{Deserialize, Serialize};

/// The longest system prompt `/persona` accepts (it is sent with every answer).
pub const MAX_PERSONA_CHARS: usize = 2_000;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Persona {
    /// The bot's `SYSTEM_PROMPT`, whatever it is when the answer is made (or none).
    #[default]
    Default,
    /// No system prompt at all.
    Off,
    /// A prompt of the user's, or a preset's text (with its name): the text itself is recorded,
    /// so a preset changed later does not change what this session was told.
    Custom {
        prompt: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        preset: Option<String>,
    },
}

impl Persona {
    pub fn is_default(&self) -> bool {
        *self == Persona::Default
    }

    /// The system prompt to send, given the bot's default.
    pub fn prompt<'a>(&'a self, default: Option<&'a str>) -> Option<&'a str> {
        match self {
            Persona::Default => default,
            Persona::Off => None,
            Persona::Custom { prompt, .. } => Some(prompt),
        }
    }

    /// A persona read back from an archive's leading system message.
    pub fn from_archive(prompt: &str) -> Persona {
        let preset = PRESETS
            .iter()
            .find(|p| p.prompt == prompt)
            .map(|p| p.name.to_string());
        Persona::Custom {
            prompt: prompt.to_string(),
            preset,
        }
    }
}

pub struct Preset {
    pub name: &'static str,
    /// What it does, in a few words, for `/persona`.
    pub summary: &'static str,
    pub prompt: &'static str,
}

pub const PRESETS: &[Preset] = &[
    Preset {
        name: "concise",
        summary: "short, direct answers",
        prompt: "You are a concise assistant. Answer in as few words as the question allows, without preamble; use a list only when it helps.",
    },
    Preset {
        name: "tutor",
        summary: "explains step by step and checks understanding",
        prompt: "You are a patient tutor. Explain step by step in plain words, give a small example, and end with one short question that checks understanding. Do not just hand over the answer to an exercise.",
    },
    Preset {
        name: "coder",
        summary: "working code first, then a brief why",
        prompt: "You are a senior software engineer. Give working code first, then a brief explanation; point out edge cases, errors and security risks.",
    },
    Preset {
        name: "translator",
        summary: "translates each message (to English, or English to French)",
        prompt: "You are a translator. Translate each message into English; if it is already English, translate it into French. Reply with the translation only.",
    },
];

/// What `/persona <argument>` asks for.
pub fn parse_persona(argument: &str) -> Result<Persona, PersonaProblem> {
    let trimmed = argument.trim();
    match trimmed.to_ascii_lowercase().as_str() {
        "off" | "none" => return Ok(Persona::Off),
        "default" => return Ok(Persona::Default),
        name => {
            if let Some(preset) = PRESETS.iter().find(|p| p.name == name) {
                return Ok(Persona::Custom {
                    prompt: preset.prompt.to_string(),
                    preset: Some(preset.name.to_string()),
                });
            }
        }
    }
    let chars = trimmed.chars().count();
    if chars > MAX_PERSONA_CHARS {
        return Err(PersonaProblem::TooLong { chars });
    }
    Ok(Persona::Custom {
        prompt: trimmed.to_string(),
        preset: None,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonaProblem {
    TooLong { chars: usize },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_off_default_and_own_text_are_told_apart() {
        assert_eq!(parse_persona(" OFF "), Ok(Persona::Off));
        assert_eq!(parse_persona("default"), Ok(Persona::Default));
        let Ok(Persona::Custom { prompt, preset }) = parse_persona("Tutor") else {
            panic!("a preset");
        };
        assert_eq!(preset.as_deref(), Some("tutor"));
        assert!(prompt.starts_with("You are a patient tutor."));
        assert_eq!(
            parse_persona("  You are a pirate.\nSpeak like one. "),
            Ok(Persona::Custom {
                prompt: "You are a pirate.\nSpeak like one.".into(),
                preset: None
            })
        );
        assert_eq!(
            parse_persona(&"x".repeat(2_001)),
            Err(PersonaProblem::TooLong { chars: 2_001 })
        );
    }

    #[test]
    fn the_prompt_sent_follows_the_persona() {
        let own = Persona::Custom {
            prompt: "Be brief.".into(),
            preset: None,
        };
        assert_eq!(own.prompt(Some("bot default")), Some("Be brief."));
        assert_eq!(
            Persona::Default.prompt(Some("bot default")),
            Some("bot default")
        );
        assert_eq!(Persona::Default.prompt(None), None);
        assert_eq!(Persona::Off.prompt(Some("bot default")), None);
        // Read back from an archive, a preset's text is known by its name again.
        assert_eq!(
            Persona::from_archive(PRESETS[0].prompt),
            parse_persona("concise").unwrap()
        );
    }

    #[test]
    fn it_is_stored_as_tagged_json() {
        let json = serde_json::to_value(parse_persona("coder").unwrap()).unwrap();
        assert_eq!(json["kind"], "custom");
        assert_eq!(json["preset"], "coder");
        assert_eq!(
            serde_json::to_value(Persona::Off).unwrap(),
            serde_json::json!({"kind": "off"})
        );
    }
}
