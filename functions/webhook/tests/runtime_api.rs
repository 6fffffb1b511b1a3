//! The webhook binary through the Lambda Runtime API, with the API Gateway HTTP API (payload 2.0)
//! event of `events/webhook-update.json`: the secret read from SSM, the update queued once on the
//! FIFO queue, strangers and bad bodies turned away, a queue failure answered so Telegram retries.

use std::time::Duration;

use base64::Engine as _;

use cloud_ai_tests::fixtures;
use cloud_ai_tests::lambda::LambdaProcess;
use cloud_ai_tests::moto::MotoServer;
use cloud_ai_tests::queues::{create_fifo_queue, drain};
use serde_json::Value;

/// The secret the fixture's `x-telegram-bot-api-secret-token` header carries.
const SECRET: &str = "example-webhook-secret";

struct Webhook {
    function: LambdaProcess,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl Webhook {
    /// The function as Terraform configures it: the queue, and the secret as an SSM parameter.
    async fn start() -> Webhook {
        let moto = MotoServer::shared();
        let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config().await);
        let queue_url =
            create_fifo_queue(&sqs, &format!("updates-{}", uuid::Uuid::new_v4().simple())).await;
        let env = [
            (
                "WEBHOOK_SECRET_PARAMETER",
                moto.secure_parameter(SECRET).await,
            ),
            ("QUEUE_URL", queue_url.clone()),
            ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ];
        let function =
            LambdaProcess::start(env!("CARGO_BIN_EXE_webhook"), &env, Duration::from_secs(5)).await;
        Webhook {
            function,
            sqs,
            queue_url,
        }
    }

    /// The HTTP status the function answers `event` with.
    async fn post(&mut self, event: Value) -> i64 {
        let response = self.function.invoke(event).await.expect("a response");
        assert!(
            response.get("body").is_none_or(Value::is_null),
            "no body: Telegram would read one as a Bot API call: {response}"
        );
        response["statusCode"].as_i64().expect("a status code")
    }
}

fn with_header(secret: Option<&str>) -> Value {
    let mut event = fixtures::event_file("webhook-update.json");
    let headers = event["headers"].as_object_mut().unwrap();
    match secret {
        Some(secret) => {
            headers.insert("x-telegram-bot-api-secret-token".into(), secret.into());
        }
        None => {
            headers.remove("x-telegram-bot-api-secret-token");
        }
    }
    event
}

#[tokio::test]
async fn telegrams_post_is_queued_once_as_sent() {
    let mut webhook = Webhook::start().await;
    let event = fixtures::event_file("webhook-update.json");
    assert_eq!(webhook.post(event.clone()).await, 200);
    // Telegram sends it again (our answer was lost): SQS deduplicates it by update id.
    assert_eq!(webhook.post(event.clone()).await, 200);
    let queued = drain(&webhook.sqs, &webhook.queue_url).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].body, event["body"].as_str().unwrap());
    assert_eq!(
        (
            queued[0].group_id.as_str(),
            queued[0].deduplication_id.as_str()
        ),
        ("chat123456789", "100001")
    );
    let logs = webhook.function.logs();
    assert!(!logs.contains(SECRET), "the secret leaked into the logs");
    for line in logs.lines().filter(|l| !l.trim().is_empty()) {
        serde_json::from_str::<Value>(line)
            .unwrap_or_else(|_| panic!("not a JSON log line: {line}"));
    }
}

#[tokio::test]
async fn a_wrong_or_missing_secret_is_401_and_queues_nothing() {
    let mut webhook = Webhook::start().await;
    for secret in [None, Some("example-webhook-secreT"), Some("")] {
        assert_eq!(webhook.post(with_header(secret)).await, 401, "{secret:?}");
    }
    assert!(drain(&webhook.sqs, &webhook.queue_url).await.is_empty());
    assert!(!webhook.function.logs().contains(SECRET));
}

#[tokio::test]
async fn a_body_that_is_not_an_update_is_200_and_queues_nothing() {
    let mut webhook = Webhook::start().await;
    for body in ["{\"message\": {}}", "{not json", "[]"] {
        let mut event = fixtures::event_file("webhook-update.json");
        event["body"] = body.into();
        assert_eq!(webhook.post(event).await, 200, "{body}");
    }
    assert!(drain(&webhook.sqs, &webhook.queue_url).await.is_empty());
}

#[tokio::test]
async fn a_base64_body_is_read_like_any_other() {
    let mut webhook = Webhook::start().await;
    let mut event = fixtures::event_file("webhook-update.json");
    let body = event["body"].as_str().unwrap().to_string();
    event["body"] = base64::engine::general_purpose::STANDARD
        .encode(&body)
        .into();
    event["isBase64Encoded"] = true.into();
    assert_eq!(webhook.post(event).await, 200);
    let queued = drain(&webhook.sqs, &webhook.queue_url).await;
    assert_eq!(
        queued.iter().map(|q| q.body.as_str()).collect::<Vec<_>>(),
        [body]
    );
}

#[tokio::test]
async fn a_queue_that_fails_is_500_so_telegram_sends_it_again() {
    let mut webhook = Webhook::start().await;
    webhook
        .sqs
        .delete_queue()
        .queue_url(&webhook.queue_url)
        .send()
        .await
        .unwrap();
    assert_eq!(
        webhook
            .post(fixtures::event_file("webhook-update.json"))
            .await,
        500
    );
    let logs = webhook.function.logs();
    assert!(
        logs.contains("Telegram will send it again"),
        "the failure is logged: {logs}"
    );
}
