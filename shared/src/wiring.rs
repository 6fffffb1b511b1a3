//! Building the roles from configuration, once per process (a Lambda cold start, a test, the
//! embedded binary), and the JSON logs Lambda expects.

#[cfg(feature = "aws")]
mod roles;

use std::sync::Arc;

use crate::config::{Config, ModelBackendConfig};
use crate::domain::backend::ContextBudget;
use crate::handlers::answer::{AnswerSettings, Answerer};
use crate::handlers::{CommandHandler, Settings, StoragePorts};
use crate::model::ModelBackend;
use crate::model::ollama::Ollama;
use crate::model::openai::OpenAiCompatible;
use crate::telegram::Telegram;
use crate::transcriber::Transcriber;
use crate::transcriber::openai::OpenAiTranscriber;
#[cfg(feature = "aws")]
pub use roles::{
    command_handler, lambda_config, poller, poller_with, publishing_command_handler,
    set_command_menus, webhook_ingress,
};

/// JSON log lines on stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_json_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The configured model backend and how it answers, if any.
pub fn answerer(config: &Config) -> Option<Answerer> {
    let model: Arc<dyn ModelBackend> = match &config.model_backend {
        ModelBackendConfig::None => return None,
        ModelBackendConfig::Ollama { url } => Arc::new(Ollama::new(url.clone())),
        ModelBackendConfig::OpenAi { base_url, api_key } => {
            Arc::new(OpenAiCompatible::new(base_url.clone(), api_key.clone()))
        }
    };
    let settings = AnswerSettings {
        budget: ContextBudget {
            max_chars: config.answers.context_max_chars,
            system_prompt: config.answers.system_prompt.clone(),
        },
        stall: std::time::Duration::from_secs(config.answers.stall_seconds),
        first_token: std::time::Duration::from_secs(config.answers.first_token_seconds),
        vision: config.answers.vision.clone(),
        max_answer_tokens: config.answers.max_answer_tokens,
        ..AnswerSettings::default()
    };
    Some(Answerer::new(model, settings))
}

/// The command role on `ports`, answering with `answerer` when a model backend is configured:
/// the one composition of the role, for the Lambdas and the one-process bot alike.
pub fn command_role(
    ports: StoragePorts,
    telegram: Arc<dyn Telegram>,
    settings: Settings,
    answerer: Option<Answerer>,
    transcriber: Option<Arc<dyn Transcriber>>,
) -> CommandHandler {
    let mut handler = CommandHandler::new(ports, telegram, settings);
    if let Some(answerer) = answerer {
        handler = handler.answering_with(answerer);
    }
    if let Some(transcriber) = transcriber {
        handler = handler.transcribing_with(transcriber);
    }
    handler
}

/// The configured transcription service for voice messages, if any.
pub fn transcriber(config: &Config) -> Option<Arc<dyn Transcriber>> {
    config.transcription.as_ref().map(|t| {
        Arc::new(OpenAiTranscriber::new(
            t.base_url.clone(),
            t.model.clone(),
            t.api_key.clone(),
        )) as Arc<dyn Transcriber>
    })
}

/// The command role's settings from configuration (the bot's name, when known only from
/// `getMe`, is the caller's to add).
pub fn settings(config: &Config) -> Settings {
    Settings {
        default_model: config.default_model.clone(),
        bot_username: config.bot_username.clone(),
        bot_id: config.bot_id(),
        access: config.access.clone(),
        limits: config.limits,
    }
}

/// A Lambda context's deadline (Unix milliseconds) as a tokio instant.
pub fn deadline_from_epoch_ms(deadline_ms: u64) -> tokio::time::Instant {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    tokio::time::Instant::now()
        + std::time::Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}
