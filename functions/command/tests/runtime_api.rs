//! The command binary through the Lambda Runtime API: the SQS envelope in, replies sent, events
//! published on the bus, only failed records reported.

use std::time::Duration;

use cloud_ai_tests::bot::{TOKEN, TestBot};
use cloud_ai_tests::fixtures;
use cloud_ai_tests::lambda::LambdaProcess;
use cloud_ai_tests::moto::MotoServer;

#[tokio::test]
async fn the_sqs_fixture_is_handled_and_answered() {
    let bot = TestBot::start().await;
    let moto = MotoServer::shared();
    let events = aws_sdk_eventbridge::Client::new(&moto.sdk_config().await);
    let bus = format!("cloud-ai-{}", uuid::Uuid::new_v4().simple());
    events.create_event_bus().name(&bus).send().await.unwrap();

    let env = [
        // The token as the stack keeps it: a SecureString parameter the function reads.
        (
            "TELEGRAM_TOKEN_PARAMETER",
            moto.secure_parameter(TOKEN).await,
        ),
        ("TELEGRAM_API_URL", bot.telegram.base_url.clone()),
        ("TABLE_NAME", bot.table.clone()),
        ("BUCKET_NAME", bot.bucket.clone()),
        ("EVENT_BUS_NAME", bus),
        // The fixture's sender, by username.
        ("ALLOWED_USERS", "@ada_l".to_string()),
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
    ];
    let mut function =
        LambdaProcess::start(env!("CARGO_BIN_EXE_command"), &env, Duration::from_secs(30)).await;
    let event = fixtures::event_file("sqs-command.json");
    let response = function.invoke(event.clone()).await.unwrap();
    assert_eq!(response, serde_json::json!({"batchItemFailures": []}));
    assert!(
        bot.telegram.last_text().starts_with("Hello, Ada!"),
        "{}",
        function.logs()
    );
    assert_eq!(
        bot.events(123456789).await.len(),
        2,
        "the first session was opened"
    );

    assert!(
        !function.logs().contains(TOKEN.split(':').nth(1).unwrap()),
        "the token never shows in the logs"
    );

    // The same envelope again (SQS redelivery): nothing more happens.
    function.invoke(event).await.unwrap();
    assert_eq!(bot.telegram.sent().len(), 1);
    assert!(!function.logs().contains(TOKEN));
}
