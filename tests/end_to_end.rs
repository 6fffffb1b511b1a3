//! The whole pipeline on moto, the test playing what moto does not run (Lambda): fixture updates
//! served by the fake Telegram → poller → SQS FIFO → command role (as an `SqsEvent`) → events on
//! EventBridge, routed by a rule to an observation queue → archiver role → S3. The user's replies,
//! the archive and the live rows are checked at the end.

use std::sync::Arc;
use std::time::Duration;

use cloud_ai_shared::config::Config;
use cloud_ai_shared::handlers::archive_event::handle_archive_event;
use cloud_ai_shared::handlers::poller::{PollSettings, Poller};
use cloud_ai_shared::handlers::sqs_batch::handle_batch;
use cloud_ai_shared::{aws, wiring};
use cloud_ai_tests::bot::{TOKEN, TestBot};
use cloud_ai_tests::fixtures::event_file;
use cloud_ai_tests::moto::MotoServer;
use cloud_ai_tests::observed_bus::ObservedBus;
use cloud_ai_tests::queues::{create_fifo_queue, drain, sqs_event};

const ADA: i64 = 123456789;

#[tokio::test]
async fn an_update_travels_the_whole_pipeline_to_an_archive() {
    let bot = TestBot::start().await;
    let sdk = MotoServer::shared().sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let updates =
        create_fifo_queue(&sqs, &format!("updates-{}", uuid::Uuid::new_v4().simple())).await;
    // The archiver's rule (Terraform targets the archiver Lambda; moto cannot run it).
    let bus = ObservedBus::create(
        &sdk,
        r#"{"source": ["cloud-ai.command"], "detail-type": ["Archived"]}"#,
    )
    .await;

    let config = Config::from_lookup(|name| match name {
        "TELEGRAM_TOKEN" => Some(TOKEN.to_string()),
        "TELEGRAM_API_URL" => Some(bot.telegram.base_url.clone()),
        "TABLE_NAME" => Some(bot.table.clone()),
        "BUCKET_NAME" => Some(bot.bucket.clone()),
        "QUEUE_URL" => Some(updates.clone()),
        "EVENT_BUS_NAME" => Some(bus.name.clone()),
        _ => None,
    })
    .unwrap();
    let command = wiring::publishing_command_handler(&config, &sdk).unwrap();
    let archiver = wiring::command_handler(&config, &sdk);
    let poller = Poller::new(
        Arc::new(cloud_ai_shared::telegram::http::HttpTelegram::new(
            &bot.telegram.base_url,
            TOKEN,
        )),
        Arc::new(aws::sqs_update_queue(&sdk, &updates)),
        bot.store.clone(),
        PollSettings {
            long_poll: Duration::from_secs(1),
            reserve: Duration::ZERO,
        },
    );

    // Ada starts, chats, and archives her session (after the fixtures' update ids).
    for fixture in ["start", "chat"] {
        bot.telegram
            .queue_update(event_file(&format!("updates/{fixture}.json")));
    }
    bot.telegram.queue_update(cloud_ai_tests::fixtures::text(
        100_100,
        ADA,
        ADA,
        "/archive 1",
    ));
    let report = poller
        .run(tokio::time::Instant::now() + Duration::from_millis(1500))
        .await
        .unwrap();
    assert_eq!(report.queued, 3);

    // The event source mapping: the queue's messages, in order, as one SqsEvent.
    let messages = drain(&sqs, &updates).await;
    let records: Vec<(&str, &str)> = messages
        .iter()
        .map(|m| (m.message_id.as_str(), m.body.as_str()))
        .collect();
    let response = handle_batch(&command, &sqs_event(&records)).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let texts = bot.telegram.texts();
    assert_eq!(
        texts.len(),
        2,
        "greeting and chat; the archive confirmation waits for the archiver: {texts:?}"
    );
    assert!(texts[0].starts_with("Hello, Ada!"));
    assert!(texts[1].starts_with("Saved to session 1."));

    // The rule delivers the Archived event; the archiver role finishes the job.
    let delivered = bus.take().await;
    assert_eq!(
        delivered
            .iter()
            .map(|e| e.detail_type.as_str())
            .collect::<Vec<_>>(),
        ["Archived"]
    );
    for event in &delivered {
        handle_archive_event(&archiver, event).await.unwrap();
    }

    let keys = bot.object_keys().await;
    assert_eq!(keys.len(), 1);
    assert!(keys[0].starts_with(&format!("archives/{ADA}/")));
    let archive = bot.archive(&keys[0]).await.unwrap();
    assert_eq!(archive.conversation.len(), 1);
    assert_eq!(archive.conversation[0].content, "What is an event store?");
    assert!(
        bot.live_rows(ADA).await.is_empty(),
        "the live rows are gone"
    );
    assert_eq!(
        bot.telegram.last_text(),
        "Archived session 1 (llama3, 1 message). It is archive 1 in /listarchives."
    );
    assert_eq!(bot.telegram.texts().len(), 3);
}
