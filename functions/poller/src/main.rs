//! The poller Lambda, run by a scheduled EventBridge rule: polls Telegram while the invocation's
//! time allows and queues each raw update on the SQS FIFO queue.

use anyhow::Context as _;
use cloud_ai_shared::{aws, wiring};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    wiring::init_json_logs();
    let sdk = aws::load_config().await;
    let config = wiring::lambda_config(&sdk).await.context("configuration")?;
    let poller = wiring::poller(&config, &sdk).context("configuration")?;
    let menus = wiring::set_command_menus(&config).await;
    tracing::info!(menus, "Telegram's command menus are set");
    let poller = &poller;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let report = poller
            .run(wiring::deadline_from_epoch_ms(event.context.deadline))
            .await
            .inspect_err(|error| tracing::error!(%error, "polling Telegram failed"))?;
        Ok::<_, lambda_runtime::Error>(json!({ "polls": report.polls, "queued": report.queued }))
    }))
    .await
}
