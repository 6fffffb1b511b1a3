//! The command binary through the Lambda Runtime API: the SQS envelope in, replies sent, events
//! published on the bus, only failed records reported.

use std::time::Duration;

use cloud_ai_shared::domain::events::{Event, Role};
use cloud_ai_shared::domain::usage::TokenUsage;
use cloud_ai_tests::bot::{TOKEN, TestBot};
use cloud_ai_tests::lambda::LambdaProcess;
use cloud_ai_tests::llama_server::{self, LlamaServer};
use cloud_ai_tests::model_tap::ModelTap;
use cloud_ai_tests::moto::MotoServer;
use cloud_ai_tests::{fixtures, queues};

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

/// The command Lambda answering with a real model (llama.cpp's server and Gemma 3 270M, both
/// installed by scripts/setup.sh) behind a recording proxy: the answer the model streamed is the
/// one shown and stored, once, and the same SQS record again asks the model nothing.
#[tokio::test]
async fn a_real_models_answer_is_shown_and_stored_once_across_a_redelivery() {
    const MAX_ANSWER_TOKENS: u32 = 150;
    const USER: i64 = 777001;
    let bot = TestBot::start().await;
    let server = LlamaServer::start().await;
    let tap = ModelTap::start(&server.base_url).await;
    let moto = MotoServer::shared();
    let events = aws_sdk_eventbridge::Client::new(&moto.sdk_config().await);
    let bus = format!("cloud-ai-{}", uuid::Uuid::new_v4().simple());
    events.create_event_bus().name(&bus).send().await.unwrap();
    let env = [
        ("TELEGRAM_TOKEN", TOKEN.to_string()),
        ("TELEGRAM_API_URL", bot.telegram.base_url.clone()),
        ("TABLE_NAME", bot.table.clone()),
        ("BUCKET_NAME", bot.bucket.clone()),
        ("EVENT_BUS_NAME", bus),
        ("ALLOWED_USERS", USER.to_string()),
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("MODEL_BACKEND", "openai".to_string()),
        ("OPENAI_BASE_URL", format!("{}/v1", tap.base_url)),
        ("DEFAULT_MODEL", llama_server::MODEL.to_string()),
        ("MAX_ANSWER_TOKENS", MAX_ANSWER_TOKENS.to_string()),
    ];
    let mut function =
        LambdaProcess::start(env!("CARGO_BIN_EXE_command"), &env, Duration::from_secs(90)).await;
    let question = fixtures::text(
        1,
        USER,
        USER,
        "Explain in two sentences what a lighthouse does.",
    )
    .to_string();
    let event = serde_json::to_value(queues::sqs_event(&[("m1", &question)])).unwrap();
    let response = function.invoke(event.clone()).await.unwrap();
    assert_eq!(
        response,
        serde_json::json!({"batchItemFailures": []}),
        "{}",
        function.logs()
    );

    let chats = tap.chats();
    assert_eq!(chats.len(), 1, "{chats:#?}");
    let exchange = &chats[0];
    assert!(
        exchange.finished(),
        "{}\n{}",
        exchange.response,
        server.logs()
    );
    let answer = exchange.streamed_text();
    assert!(answer.split_whitespace().count() > 5, "{answer:?}");
    let shown = bot.telegram.chat_messages(USER).pop().expect("an answer");
    assert_eq!(shown.raw.trim(), exchange.as_shown(MAX_ANSWER_TOKENS));
    assert_eq!(
        bot.posted(USER, Role::Assistant).await,
        std::slice::from_ref(&answer)
    );
    let (prompt, completion) = exchange.usage().expect("the server reports usage");
    let recorded = bot
        .events(USER)
        .await
        .into_iter()
        .find_map(|e| match e.event {
            Event::MessagePosted {
                usage: Some(usage), ..
            } => Some(usage),
            _ => None,
        });
    assert_eq!(
        recorded,
        Some(TokenUsage {
            prompt,
            answer: completion
        }),
        "the answer's event keeps the server's token counts"
    );

    // SQS delivers the record again: nothing is asked, shown or stored twice.
    let shown_before = bot.telegram.chat_messages(USER).len();
    function.invoke(event).await.unwrap();
    assert_eq!(tap.chats().len(), 1);
    assert_eq!(bot.telegram.chat_messages(USER).len(), shown_before);
    assert_eq!(bot.posted(USER, Role::Assistant).await, [answer]);
}
