//! The archiver Lambda, fed by EventBridge `Archived` events: writes the archive to S3, deletes
//! the live rows, then confirms to the user. A failure is returned so EventBridge retries it.

use anyhow::Context as _;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use cloud_ai_shared::handlers::archive_event::handle_archive_event;
use cloud_ai_shared::{aws, wiring};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    wiring::init_json_logs();
    let sdk = aws::load_config().await;
    let config = wiring::lambda_config(&sdk).await.context("configuration")?;
    let handler = wiring::command_handler(&config, &sdk);
    let handler = &handler;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent<Value>>| async move {
            match handle_archive_event(handler, &event.payload).await {
                Ok(outcome) => Ok(json!({ "outcome": format!("{outcome:?}") })),
                // Retrying an event that is not ours cannot help: acknowledge it, loudly.
                Err(error) if !error.is_retryable() => {
                    tracing::error!(%error, "event dropped");
                    Ok(json!({ "dropped": error.to_string() }))
                }
                Err(error) => Err(lambda_runtime::Error::from(error)),
            }
        },
    ))
    .await
}
