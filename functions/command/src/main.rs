//! The command Lambda, fed by the SQS FIFO queue of updates: handles each record through the
//! library and reports only the failed ones (`ReportBatchItemFailures`).

use anyhow::Context as _;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use cloud_ai_shared::handlers::sqs_batch::handle_batch_until;
use cloud_ai_shared::{aws, wiring};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    wiring::init_json_logs();
    let sdk = aws::load_config().await;
    let config = wiring::lambda_config(&sdk).await.context("configuration")?;
    let handler = wiring::publishing_command_handler(&config, &sdk).context("configuration")?;
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let deadline = wiring::deadline_from_epoch_ms(event.context.deadline);
        Ok::<SqsBatchResponse, lambda_runtime::Error>(
            handle_batch_until(handler, &event.payload, Some(deadline)).await,
        )
    }))
    .await
}
