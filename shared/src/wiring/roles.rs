//! The roles on AWS: the Lambdas' configuration (secrets from SSM) and their handlers on the
//! DynamoDB table, the S3 bucket, the SQS queue and the EventBridge bus.

use std::sync::Arc;

use aws_config::SdkConfig;

use super::{answerer, command_role, settings, transcriber};
use crate::aws;
use crate::config::{Config, ConfigError, WebhookConfig};
use crate::handlers::poller::{PollSettings, Poller};
use crate::handlers::webhook::WebhookIngress;
use crate::handlers::{CommandHandler, StoragePorts};
use crate::telegram::http::HttpTelegram;

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

/// The command role without a bus: runs archive jobs itself (the archiver role, and one process).
pub fn command_handler(config: &Config, sdk: &SdkConfig) -> CommandHandler {
    let store = Arc::new(aws::dynamodb_store(sdk, &config.table_name));
    let archives = Arc::new(aws::s3_archive_store(sdk, &config.bucket_name));
    command_role(
        StoragePorts::of(store, archives),
        telegram(config),
        settings(config),
        answerer(config),
        transcriber(config),
    )
}

/// The command role of the pipeline: publishes every event on `EVENT_BUS_NAME`.
pub fn publishing_command_handler(
    config: &Config,
    sdk: &SdkConfig,
) -> Result<CommandHandler, ConfigError> {
    let bus = Arc::new(aws::eventbridge_bus(sdk, config.require_event_bus_name()?));
    Ok(command_handler(config, sdk).publishing_to(bus))
}

/// Sets Telegram's command menus (once per cold start of the poller: the menus change only
/// with a new build or new admins, and a refusal only leaves the old menu).
pub async fn set_command_menus(config: &Config) -> usize {
    crate::handlers::menu::set_command_menus(telegram(config).as_ref(), &config.access).await
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

/// The webhook role: its secret (from SSM, once per cold start) and the update queue.
pub async fn webhook_ingress(sdk: &SdkConfig) -> Result<WebhookIngress, ConfigError> {
    let env = |name: &str| std::env::var(name).ok();
    let secrets = crate::parameters::read_secret_parameters(sdk, env).await?;
    let config =
        WebhookConfig::from_lookup(|name| secrets.get(name).cloned().or_else(|| env(name)))?;
    Ok(WebhookIngress::new(
        Arc::new(aws::sqs_update_queue(sdk, &config.queue_url)),
        config.secret,
    ))
}
