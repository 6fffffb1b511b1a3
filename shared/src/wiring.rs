//! Building the roles from configuration, once per process (a Lambda cold start, a test, the
//! embedded binary), and the JSON logs Lambda expects.

use std::sync::Arc;

use aws_config::SdkConfig;

use crate::aws;
use crate::config::{Config, ConfigError, ModelBackendConfig};
use crate::domain::backend::ContextBudget;
use crate::handlers::answer::{AnswerSettings, Answerer};
use crate::handlers::poller::{PollSettings, Poller};
use crate::handlers::{CommandHandler, Settings};
use crate::model::ModelBackend;
use crate::model::ollama::Ollama;
use crate::model::openai::OpenAiCompatible;
use crate::telegram::http::HttpTelegram;

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

/// A Lambda's configuration: its environment, with the secrets its `<NAME>_PARAMETER`
/// variables name read from SSM (once, at cold start).
pub async fn lambda_config(sdk: &SdkConfig) -> Result<Config, ConfigError> {
    let secrets =
        crate::parameters::read_secret_parameters(sdk, |name| std::env::var(name).ok()).await?;
    Config::from_env_with(&secrets)
}

fn telegram(config: &Config) -> Arc<HttpTelegram> {
    Arc::new(HttpTelegram::new(
        &config.telegram_api_url,
        config.telegram_token.expose(),
    ))
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
        ..AnswerSettings::default()
    };
    Some(Answerer::new(model, settings))
}

/// The command role without a bus: runs archive jobs itself (the archiver role, and one process).
pub fn command_handler(config: &Config, sdk: &SdkConfig) -> CommandHandler {
    let handler = storage_handler(config, sdk);
    match answerer(config) {
        Some(answerer) => handler.answering_with(answerer),
        None => handler,
    }
}

fn storage_handler(config: &Config, sdk: &SdkConfig) -> CommandHandler {
    let store = Arc::new(aws::dynamodb_store(sdk, &config.table_name));
    CommandHandler::new(
        store.clone(),
        store.clone(),
        store.clone(),
        store,
        Arc::new(aws::s3_archive_store(sdk, &config.bucket_name)),
        telegram(config),
        settings(config),
    )
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

/// The command role of the pipeline: publishes every event on `EVENT_BUS_NAME`.
pub fn publishing_command_handler(
    config: &Config,
    sdk: &SdkConfig,
) -> Result<CommandHandler, ConfigError> {
    let bus = Arc::new(aws::eventbridge_bus(sdk, config.require_event_bus_name()?));
    Ok(command_handler(config, sdk).publishing_to(bus))
}

/// The poller role with Lambda's long-poll settings.
pub fn poller(config: &Config, sdk: &SdkConfig) -> Result<Poller, ConfigError> {
    poller_with(config, sdk, PollSettings::default())
}

pub fn poller_with(
    config: &Config,
    sdk: &SdkConfig,
    settings: PollSettings,
) -> Result<Poller, ConfigError> {
    Ok(Poller::new(
        telegram(config),
        Arc::new(aws::sqs_update_queue(sdk, config.require_queue_url()?)),
        Arc::new(aws::dynamodb_store(sdk, &config.table_name)),
        settings,
    ))
}

/// A Lambda context's deadline (Unix milliseconds) as a tokio instant.
pub fn deadline_from_epoch_ms(deadline_ms: u64) -> tokio::time::Instant {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    tokio::time::Instant::now()
        + std::time::Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}
