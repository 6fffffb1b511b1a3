//! The webhook Lambda, behind an API Gateway HTTP API route: checks Telegram's secret header and
//! queues each raw update on the SQS FIFO queue, as the poller does.

use anyhow::Context as _;
use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use cloud_ai_shared::{aws, wiring};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    wiring::init_json_logs();
    let sdk = aws::load_config().await;
    let ingress = wiring::webhook_ingress(&sdk)
        .await
        .context("configuration")?;
    let ingress = &ingress;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
            Ok::<_, lambda_runtime::Error>(ingress.receive_http_api(&event.payload).await)
        },
    ))
    .await
}
