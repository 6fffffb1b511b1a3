//! Configuration from the environment. The standard `AWS_ENDPOINT_URL` (read by the AWS SDK)
//! points the clients at an emulator such as LocalStack or moto.

use crate::domain::access::AccessPolicy;
use crate::domain::limits::Limits;
use crate::domain::vision::VisionModels;
use crate::handlers::settings::DEFAULT_MAX_ANSWER_TOKENS;
use crate::telegram::http::DEFAULT_API_URL;

pub const DEFAULT_TABLE: &str = "chatbot-sessions";
pub const DEFAULT_BUCKET: &str = "chatbot-conversations";
pub const DEFAULT_MODEL: &str = "llama3";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// The bot token, kept out of `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Which model backend answers chat messages (`MODEL_BACKEND`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelBackendConfig {
    /// `none`: messages are stored without an answer.
    None,
    /// `ollama` (the default): `OLLAMA_URL`, default `http://localhost:11434`.
    Ollama { url: String },
    /// `openai`: an OpenAI-compatible server at `OPENAI_BASE_URL` (up to `/v1`), with an
    /// optional `OPENAI_API_KEY`.
    OpenAi {
        base_url: String,
        api_key: Option<Secret>,
    },
}

/// Where voice messages are transcribed: `TRANSCRIBE_URL` (an OpenAI-compatible server, up to
/// `/v1`), `TRANSCRIBE_MODEL` (default `whisper-1`) and the optional `TRANSCRIBE_API_KEY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscribeConfig {
    pub base_url: String,
    pub model: String,
    pub api_key: Option<Secret>,
}

/// How answers are made (`SYSTEM_PROMPT`, `CONTEXT_MAX_CHARS`, `ANSWER_STALL_SECONDS`,
/// `ANSWER_FIRST_TOKEN_SECONDS`, `VISION_MODELS`, `MAX_ANSWER_TOKENS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerConfig {
    pub system_prompt: Option<String>,
    pub context_max_chars: usize,
    pub stall_seconds: u64,
    pub first_token_seconds: u64,
    pub vision: VisionModels,
    /// `MAX_ANSWER_TOKENS` (default 1024).
    pub max_answer_tokens: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `TELEGRAM_TOKEN`
    pub telegram_token: Secret,
    /// `TELEGRAM_API_URL`, default the public Bot API.
    pub telegram_api_url: String,
    /// `TABLE_NAME`, default `chatbot-sessions`.
    pub table_name: String,
    /// `BUCKET_NAME`, default `chatbot-conversations`.
    pub bucket_name: String,
    /// `DEFAULT_MODEL`, default `llama3`: the model of new sessions.
    pub default_model: String,
    /// `BOT_USERNAME` (optional): tells `/cmd@this_bot` from commands for other bots in groups.
    pub bot_username: Option<String>,
    /// `QUEUE_URL`: the SQS FIFO queue of updates (the poller's output).
    pub queue_url: Option<String>,
    /// `EVENT_BUS_NAME`: the EventBridge bus the command role publishes on.
    pub event_bus_name: Option<String>,
    pub model_backend: ModelBackendConfig,
    pub answers: AnswerConfig,
    /// `ALLOWED_USERS` (unset: only the admins; `*`: everyone) and `ADMIN_USERS`.
    pub access: AccessPolicy,
    /// `MESSAGES_PER_MINUTE`, `TOKENS_PER_DAY` and `ANSWERS_IN_FLIGHT`, per user.
    pub limits: Limits,
    /// Voice messages are transcribed when this is set.
    pub transcription: Option<TranscribeConfig>,
}

/// The secrets: each may also come from a file (`<NAME>_FILE`, as container and systemd secrets
/// provide them; the one-process bot) or an SSM SecureString parameter (`<NAME>_PARAMETER`; the
/// Lambdas, see [`crate::parameters`]), so it need not sit in a plain environment variable.
pub const SECRETS: &[SecretSources] = &[
    SecretSources {
        name: "TELEGRAM_TOKEN",
        file: "TELEGRAM_TOKEN_FILE",
        parameter: "TELEGRAM_TOKEN_PARAMETER",
    },
    SecretSources {
        name: "OPENAI_API_KEY",
        file: "OPENAI_API_KEY_FILE",
        parameter: "OPENAI_API_KEY_PARAMETER",
    },
    SecretSources {
        name: "TRANSCRIBE_API_KEY",
        file: "TRANSCRIBE_API_KEY_FILE",
        parameter: "TRANSCRIBE_API_KEY_PARAMETER",
    },
    SecretSources {
        name: "WEBHOOK_SECRET",
        file: "WEBHOOK_SECRET_FILE",
        parameter: "WEBHOOK_SECRET_PARAMETER",
    },
];

/// The webhook Lambda's configuration. It holds no bot token: all it does is check Telegram's
/// secret and queue the update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// `WEBHOOK_SECRET`: the `secret_token` given to `setWebhook`.
    pub secret: Secret,
    /// `QUEUE_URL`
    pub queue_url: String,
}

impl WebhookConfig {
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<WebhookConfig, ConfigError> {
        let get = |name: &'static str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .ok_or(ConfigError::Missing(name))
        };
        Ok(WebhookConfig {
            secret: webhook_secret(get("WEBHOOK_SECRET")?)?,
            queue_url: get("QUEUE_URL")?,
        })
    }
}

/// `value` as a webhook secret, as `setWebhook` takes it: 1 to 256 characters of `A-Z`, `a-z`,
/// `0-9`, `_` and `-`.
pub fn webhook_secret(value: String) -> Result<Secret, ConfigError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if value.is_empty() || value.len() > 256 || !value.chars().all(allowed) {
        return Err(ConfigError::Invalid {
            name: "WEBHOOK_SECRET",
            reason: "Telegram takes 1 to 256 characters of A-Z, a-z, 0-9, _ and -".into(),
        });
    }
    Ok(Secret(value))
}

/// The secrets unset in the environment whose `<NAME>_FILE` names a file: read, by variable name.
pub fn secrets_from_files() -> Result<std::collections::HashMap<String, String>, ConfigError> {
    let mut from_files = std::collections::HashMap::new();
    for secret in SECRETS {
        let set = std::env::var(secret.name).is_ok_and(|v| !v.trim().is_empty());
        if let (false, Ok(path)) = (set, std::env::var(secret.file)) {
            let text = std::fs::read_to_string(path.trim()).map_err(|e| ConfigError::Invalid {
                name: secret.file,
                reason: format!("cannot read {}: {e}", path.trim()),
            })?;
            from_files.insert(secret.name.to_string(), text);
        }
    }
    Ok(from_files)
}

/// A secret's variable and the variables that say where else to read it.
pub struct SecretSources {
    pub name: &'static str,
    pub file: &'static str,
    pub parameter: &'static str,
}

impl Config {
    /// Reads the environment; a secret unset there is read from the file its `_FILE`
    /// variable names.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_env_with(&secrets_from_files()?)
    }

    /// Reads the environment, with `secrets` (read elsewhere) first.
    pub fn from_env_with(
        secrets: &std::collections::HashMap<String, String>,
    ) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| {
            secrets
                .get(name)
                .cloned()
                .or_else(|| std::env::var(name).ok())
        })
    }

    /// The bot's own user id: a token is `<bot id>:<secret>`.
    pub fn bot_id(&self) -> Option<i64> {
        self.telegram_token.expose().split(':').next()?.parse().ok()
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let token = get("TELEGRAM_TOKEN").ok_or(ConfigError::Missing("TELEGRAM_TOKEN"))?;
        if token.contains(['/', '?', '#', ' ']) {
            return Err(ConfigError::Invalid {
                name: "TELEGRAM_TOKEN",
                reason:
                    "a bot token has no '/', '?', '#' or spaces (it looks like 123456:ABC-DEF...)"
                        .into(),
            });
        }
        let api_url = get("TELEGRAM_API_URL").unwrap_or_else(|| DEFAULT_API_URL.to_string());
        if !(api_url.starts_with("http://") || api_url.starts_with("https://")) {
            return Err(ConfigError::Invalid {
                name: "TELEGRAM_API_URL",
                reason: "it must start with http:// or https://".into(),
            });
        }
        let default_model = get("DEFAULT_MODEL").unwrap_or_else(|| DEFAULT_MODEL.to_string());
        if !crate::domain::archive_doc::is_valid_model_name(&default_model) {
            return Err(ConfigError::Invalid {
                name: "DEFAULT_MODEL",
                reason: "use letters, digits and . _ : / - only".into(),
            });
        }
        let http_url = |name: &'static str, value: String| {
            if value.starts_with("http://") || value.starts_with("https://") {
                Ok(value)
            } else {
                Err(ConfigError::Invalid {
                    name,
                    reason: "it must start with http:// or https://".into(),
                })
            }
        };
        let model_backend = match get("MODEL_BACKEND")
            .unwrap_or_else(|| "ollama".into())
            .to_ascii_lowercase()
            .as_str()
        {
            "none" | "off" => ModelBackendConfig::None,
            "ollama" => ModelBackendConfig::Ollama {
                url: http_url(
                    "OLLAMA_URL",
                    get("OLLAMA_URL").unwrap_or_else(|| crate::model::ollama::DEFAULT_URL.into()),
                )?,
            },
            "openai" => ModelBackendConfig::OpenAi {
                base_url: http_url(
                    "OPENAI_BASE_URL",
                    get("OPENAI_BASE_URL").ok_or(ConfigError::Missing("OPENAI_BASE_URL"))?,
                )?,
                api_key: get("OPENAI_API_KEY").map(Secret),
            },
            _ => {
                return Err(ConfigError::Invalid {
                    name: "MODEL_BACKEND",
                    reason: "use ollama, openai or none".into(),
                });
            }
        };
        let number =
            |name: &'static str, default: u64| whole_number(name, get(name), default, u64::MAX);
        let answers = AnswerConfig {
            system_prompt: get("SYSTEM_PROMPT"),
            context_max_chars: number("CONTEXT_MAX_CHARS", 24_000)? as usize,
            stall_seconds: number("ANSWER_STALL_SECONDS", 60)?,
            first_token_seconds: number("ANSWER_FIRST_TOKEN_SECONDS", 60)?,
            vision: VisionModels::parse(get("VISION_MODELS").as_deref()),
            max_answer_tokens: Some(whole_number(
                "MAX_ANSWER_TOKENS",
                get("MAX_ANSWER_TOKENS"),
                u64::from(DEFAULT_MAX_ANSWER_TOKENS),
                u64::from(u32::MAX),
            )? as u32),
        };
        let access = AccessPolicy::parse(
            get("ALLOWED_USERS").as_deref(),
            get("ADMIN_USERS").as_deref(),
        )
        .map_err(|e| ConfigError::Invalid {
            name: "ALLOWED_USERS or ADMIN_USERS",
            reason: format!(
                "{e}; list user ids or @usernames separated by commas, or * for everyone"
            ),
        })?;
        let transcription = match get("TRANSCRIBE_URL") {
            Some(url) => Some(TranscribeConfig {
                base_url: http_url("TRANSCRIBE_URL", url)?,
                model: get("TRANSCRIBE_MODEL").unwrap_or_else(|| "whisper-1".to_string()),
                api_key: get("TRANSCRIBE_API_KEY").map(Secret),
            }),
            None => None,
        };
        let defaults = Limits::default();
        let limits = Limits {
            messages_per_minute: number("MESSAGES_PER_MINUTE", defaults.messages_per_minute)?,
            tokens_per_day: number("TOKENS_PER_DAY", defaults.tokens_per_day)?,
            answers_in_flight: whole_number(
                "ANSWERS_IN_FLIGHT",
                get("ANSWERS_IN_FLIGHT"),
                defaults.answers_in_flight as u64,
                64,
            )? as usize,
        };
        Ok(Config {
            access,
            limits,
            model_backend,
            answers,
            telegram_token: Secret(token),
            telegram_api_url: api_url,
            table_name: get("TABLE_NAME").unwrap_or_else(|| DEFAULT_TABLE.to_string()),
            bucket_name: get("BUCKET_NAME").unwrap_or_else(|| DEFAULT_BUCKET.to_string()),
            default_model,
            bot_username: get("BOT_USERNAME").map(|u| u.trim_start_matches('@').to_string()),
            queue_url: get("QUEUE_URL"),
            event_bus_name: get("EVENT_BUS_NAME"),
            transcription,
        })
    }

    pub fn require_queue_url(&self) -> Result<&str, ConfigError> {
        self.queue_url
            .as_deref()
            .ok_or(ConfigError::Missing("QUEUE_URL"))
    }

    pub fn require_event_bus_name(&self) -> Result<&str, ConfigError> {
        self.event_bus_name
            .as_deref()
            .ok_or(ConfigError::Missing("EVENT_BUS_NAME"))
    }
}

/// `value` (of the variable `name`) as a whole number from 1 to `max`, or `default` when unset.
pub(crate) fn whole_number(
    name: &'static str,
    value: Option<String>,
    default: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    let Some(value) = value else {
        return Ok(default);
    };
    value
        .parse::<u64>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| ConfigError::Invalid {
            name,
            reason: if max == u64::MAX {
                format!("{value:?} is not a positive whole number")
            } else {
                format!("{value:?} is not a whole number from 1 to {max}")
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn defaults_follow_the_original() {
        let config = Config::from_lookup(lookup(&[("TELEGRAM_TOKEN", "123:abc")])).unwrap();
        assert_eq!(config.table_name, "chatbot-sessions");
        assert_eq!(config.bucket_name, "chatbot-conversations");
        assert_eq!(config.telegram_api_url, "https://api.telegram.org");
        assert_eq!(config.default_model, "llama3");
    }

    #[test]
    fn the_model_backend_is_chosen_by_configuration() {
        let config = Config::from_lookup(lookup(&[("TELEGRAM_TOKEN", "1:a")])).unwrap();
        assert_eq!(
            config.model_backend,
            ModelBackendConfig::Ollama {
                url: "http://localhost:11434".into()
            }
        );
        let config = Config::from_lookup(lookup(&[
            ("TELEGRAM_TOKEN", "1:a"),
            ("MODEL_BACKEND", "openai"),
            ("OPENAI_BASE_URL", "http://localhost:8080/v1"),
            ("OPENAI_API_KEY", "sk-secret"),
        ]))
        .unwrap();
        assert!(matches!(
            config.model_backend,
            ModelBackendConfig::OpenAi { .. }
        ));
        assert!(!format!("{config:?}").contains("sk-secret"));
        let missing = Config::from_lookup(lookup(&[
            ("TELEGRAM_TOKEN", "1:a"),
            ("MODEL_BACKEND", "openai"),
        ]));
        assert_eq!(missing, Err(ConfigError::Missing("OPENAI_BASE_URL")));
        let bad = Config::from_lookup(lookup(&[
            ("TELEGRAM_TOKEN", "1:a"),
            ("CONTEXT_MAX_CHARS", "lots"),
        ]))
        .unwrap_err();
        assert!(bad.to_string().contains("CONTEXT_MAX_CHARS"));
        let bad = Config::from_lookup(lookup(&[
            ("TELEGRAM_TOKEN", "1:a"),
            ("MODEL_BACKEND", "gpt"),
        ]))
        .unwrap_err();
        assert!(bad.to_string().contains("MODEL_BACKEND"));
    }

    #[test]
    fn access_lists_default_to_private_and_bad_entries_are_named() {
        use crate::domain::access::{Allowed, Who};
        let config = Config::from_lookup(lookup(&[("TELEGRAM_TOKEN", "77:a")])).unwrap();
        assert_eq!(config.access.allowed, Allowed::Private);
        assert_eq!(config.bot_id(), Some(77));
        let config = Config::from_lookup(lookup(&[
            ("TELEGRAM_TOKEN", "77:a"),
            ("ALLOWED_USERS", "*"),
            ("ADMIN_USERS", "42, @boss"),
        ]))
        .unwrap();
        assert_eq!(config.access.allowed, Allowed::Everyone);
        assert_eq!(
            config.access.admins,
            vec![Who::Id(42), Who::Name("boss".into())]
        );
        let bad = Config::from_lookup(lookup(&[
            ("TELEGRAM_TOKEN", "77:a"),
            ("ADMIN_USERS", "42;43"),
        ]))
        .unwrap_err();
        assert!(bad.to_string().contains("ADMIN_USERS"), "{bad}");
    }

    #[test]
    fn the_webhook_needs_a_secret_telegram_takes_and_the_queue() {
        let config = WebhookConfig::from_lookup(lookup(&[
            ("WEBHOOK_SECRET", "abc_DEF-123"),
            ("QUEUE_URL", "http://queue"),
        ]))
        .unwrap();
        assert_eq!(config.secret.expose(), "abc_DEF-123");
        assert!(
            !format!("{config:?}").contains("abc_DEF"),
            "the secret is redacted"
        );
        assert_eq!(
            WebhookConfig::from_lookup(lookup(&[("QUEUE_URL", "http://queue")])),
            Err(ConfigError::Missing("WEBHOOK_SECRET"))
        );
        for bad in ["has space", "dots.are.out", &"x".repeat(257)] {
            let result = WebhookConfig::from_lookup(lookup(&[
                ("WEBHOOK_SECRET", bad),
                ("QUEUE_URL", "http://queue"),
            ]));
            assert!(
                matches!(
                    result,
                    Err(ConfigError::Invalid {
                        name: "WEBHOOK_SECRET",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_missing_token_is_named_and_a_token_is_never_printed() {
        assert_eq!(
            Config::from_lookup(lookup(&[])),
            Err(ConfigError::Missing("TELEGRAM_TOKEN"))
        );
        let config = Config::from_lookup(lookup(&[("TELEGRAM_TOKEN", "123:supersecret")])).unwrap();
        assert!(!format!("{config:?}").contains("supersecret"));
    }

    #[test]
    fn bad_values_are_rejected_with_the_variable_named() {
        let err = Config::from_lookup(lookup(&[
            ("TELEGRAM_TOKEN", "1:a"),
            ("TELEGRAM_API_URL", "ftp://x"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("TELEGRAM_API_URL"));
        let err = Config::from_lookup(lookup(&[("TELEGRAM_TOKEN", "1/../x")])).unwrap_err();
        assert!(err.to_string().contains("TELEGRAM_TOKEN") && !err.to_string().contains("../x"));
    }
}
