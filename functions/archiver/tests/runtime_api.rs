//! The archiver binary through the Lambda Runtime API: an `Archived` event from the bus in, the
//! archive in S3, the rows gone and one confirmation out; a failure is reported to the runtime.

use std::sync::Arc;
use std::time::Duration;

use cloud_ai_shared::bus::BusEvent;
use cloud_ai_tests::bot::{TOKEN, TestBot};
use cloud_ai_tests::fixtures;
use cloud_ai_tests::lambda::{LambdaProcess, error_message};
use cloud_ai_tests::moto::MotoServer;

/// A bus that keeps what is published in memory, for the test to pick the `Archived` event.
struct Collector(Arc<std::sync::Mutex<Vec<BusEvent>>>);

#[async_trait::async_trait]
impl cloud_ai_shared::bus::EventBus for Collector {
    async fn publish(&self, events: &[BusEvent]) -> Result<(), cloud_ai_shared::bus::BusError> {
        self.0.lock().unwrap().extend_from_slice(events);
        Ok(())
    }
}

#[tokio::test]
async fn an_archived_event_is_archived_and_confirmed_once() {
    let bot = TestBot::start().await;
    let moto = MotoServer::shared();
    let published = Arc::new(std::sync::Mutex::new(Vec::new()));
    let command = bot
        .new_handler()
        .publishing_to(Arc::new(Collector(published.clone())));
    let user = 31337;
    command
        .handle(&fixtures::text(1, user, user, "to the archive"))
        .await
        .unwrap();
    command
        .handle(&fixtures::text(2, user, user, "/archive 1"))
        .await
        .unwrap();
    let archived = published
        .lock()
        .unwrap()
        .iter()
        .find(|e| e.event.name() == "Archived")
        .cloned()
        .unwrap();
    let mut envelope = fixtures::event_file("archived-event.json");
    envelope["detail"] = serde_json::to_value(&archived).unwrap();
    envelope.as_object_mut().unwrap().remove("account"); // as moto's events arrive

    let env = [
        ("TELEGRAM_TOKEN", TOKEN.to_string()),
        ("TELEGRAM_API_URL", bot.telegram.base_url.clone()),
        ("TABLE_NAME", bot.table.clone()),
        ("BUCKET_NAME", bot.bucket.clone()),
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
    ];
    let mut function = LambdaProcess::start(
        env!("CARGO_BIN_EXE_archiver"),
        &env,
        Duration::from_secs(30),
    )
    .await;
    bot.telegram.clear_sent();
    let response = function.invoke(envelope.clone()).await.unwrap();
    assert_eq!(response["outcome"], "Resumed", "{}", function.logs());
    assert_eq!(bot.object_keys().await.len(), 1);
    assert!(bot.live_rows(user).await.is_empty());
    function.invoke(envelope).await.unwrap();
    assert_eq!(
        bot.telegram.texts(),
        vec![
            "Archived session 1 \"to the archive\" (llama3, 1 message). It is archive 1 in /listarchives."
        ]
    );

    // The fixture names an update this stack never saw: the error goes back to the runtime, so
    // EventBridge retries it (and, in the end, dead-letters it).
    let error = function
        .invoke(fixtures::event_file("archived-event.json"))
        .await
        .unwrap_err();
    assert!(
        error_message(&error).contains("no receipt for update 100010"),
        "{error}"
    );
    assert!(!function.logs().contains(TOKEN));
}
