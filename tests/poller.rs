//! The poller against a fake Telegram and a FIFO queue on moto: updates are queued raw, grouped
//! by chat and deduplicated by update id; the offset advances only past what SQS accepted.

use std::sync::Arc;
use std::time::Duration;

use cloud_ai_shared::aws;
use cloud_ai_shared::handlers::poller::{PollError, PollSettings, Poller};
use cloud_ai_shared::store::OffsetStore;
use cloud_ai_shared::telegram::http::HttpTelegram;
use cloud_ai_tests::bot::{TOKEN, TestBot};
use cloud_ai_tests::fixtures;
use cloud_ai_tests::moto::MotoServer;
use cloud_ai_tests::queues::{create_fifo_queue, drain};
use tokio::time::Instant;

struct Setup {
    bot: TestBot,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

async fn setup() -> Setup {
    let bot = TestBot::start().await;
    let config = MotoServer::shared().sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue_url =
        create_fifo_queue(&sqs, &format!("updates-{}", uuid::Uuid::new_v4().simple())).await;
    Setup {
        bot,
        sqs,
        queue_url,
    }
}

async fn poller(setup: &Setup, queue_url: &str) -> Poller {
    let config = MotoServer::shared().sdk_config().await;
    Poller::new(
        Arc::new(HttpTelegram::new(&setup.bot.telegram.base_url, TOKEN)),
        Arc::new(aws::sqs_update_queue(&config, queue_url)),
        setup.bot.store.clone(),
        PollSettings {
            long_poll: Duration::from_secs(1),
            reserve: Duration::from_millis(0),
            min_interval: Duration::from_millis(100),
        },
    )
}

fn soon() -> Instant {
    Instant::now() + Duration::from_millis(1500)
}

#[tokio::test]
async fn updates_are_queued_raw_per_chat_and_the_offset_follows() {
    let setup = setup().await;
    let telegram = &setup.bot.telegram;
    for (id, chat) in [(500, 11), (501, 22), (502, 11)] {
        telegram.queue_update(fixtures::text(id, chat, chat, &format!("hello {id}")));
    }
    let reaction = serde_json::json!({"update_id": 503, "message_reaction": {"chat": {"id": 22}, "date": 1, "message_id": 3, "new_reaction": [], "old_reaction": []}});
    telegram.queue_update(reaction.clone());
    let poller = poller(&setup, &setup.queue_url).await;
    let report = poller.run(soon()).await.unwrap();
    assert_eq!(report.queued, 4);
    assert_eq!(setup.bot.store.last_update_id().await.unwrap(), Some(503));

    let received = drain(&setup.sqs, &setup.queue_url).await;
    let mut summary: Vec<(String, String)> = received
        .iter()
        .map(|r| (r.deduplication_id.clone(), r.group_id.clone()))
        .collect();
    summary.sort();
    assert_eq!(
        summary,
        [
            ("500", "chat11"),
            ("501", "chat22"),
            ("502", "chat11"),
            ("503", "chat22")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let body: serde_json::Value = serde_json::from_str(
        &received
            .iter()
            .find(|r| r.deduplication_id == "503")
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(
        body, reaction,
        "an update kind the bot does not know travels unchanged"
    );

    // The next run asks Telegram for what comes after, and queues nothing again.
    poller.run(soon()).await.unwrap();
    assert!(drain(&setup.sqs, &setup.queue_url).await.is_empty());
    assert!(
        telegram
            .calls()
            .iter()
            .filter(|c| *c == "getUpdates")
            .count()
            >= 2
    );
}

#[tokio::test]
async fn when_sqs_fails_the_offset_stays_and_the_updates_come_again() {
    let setup = setup().await;
    let telegram = &setup.bot.telegram;
    telegram.queue_update(fixtures::text(700, 5, 5, "do not lose me"));
    let broken = poller(&setup, &format!("{}-missing", setup.queue_url)).await;
    let error = broken.run(soon()).await.unwrap_err();
    assert!(matches!(error, PollError::Queue(_)), "{error}");
    assert_eq!(
        setup.bot.store.last_update_id().await.unwrap(),
        None,
        "the offset did not move"
    );

    let working = poller(&setup, &setup.queue_url).await;
    assert_eq!(working.run(soon()).await.unwrap().queued, 1);
    let received = drain(&setup.sqs, &setup.queue_url).await;
    assert_eq!(received.len(), 1);
    assert!(received[0].body.contains("do not lose me"));
    assert_eq!(setup.bot.store.last_update_id().await.unwrap(), Some(700));
}

#[tokio::test]
async fn a_backlog_larger_than_a_batch_is_queued_in_order() {
    let setup = setup().await;
    for id in 0..25 {
        setup
            .bot
            .telegram
            .queue_update(fixtures::text(1000 + id, 9, 9, &format!("m{id}")));
    }
    let report = poller(&setup, &setup.queue_url)
        .await
        .run(soon())
        .await
        .unwrap();
    assert_eq!(report.queued, 25);
    let order: Vec<String> = drain(&setup.sqs, &setup.queue_url)
        .await
        .into_iter()
        .map(|r| r.deduplication_id)
        .collect();
    assert_eq!(
        order,
        (1000..1025).map(|i| i.to_string()).collect::<Vec<_>>(),
        "one chat's updates stay in order"
    );
}

#[tokio::test]
async fn queued_updates_reach_the_command_handler_and_are_answered() {
    let setup = setup().await;
    setup
        .bot
        .telegram
        .queue_update(fixtures::text(900, 31, 31, "/echo through the queue"));
    poller(&setup, &setup.queue_url)
        .await
        .run(soon())
        .await
        .unwrap();
    for message in drain(&setup.sqs, &setup.queue_url).await {
        let update: serde_json::Value = serde_json::from_str(&message.body).unwrap();
        setup.bot.handle(&update).await.unwrap();
    }
    assert_eq!(setup.bot.telegram.texts(), vec!["through the queue"]);
}

/// SQS, except that it refuses one chosen update (as SQS refuses single entries of a batch).
struct RefusingQueue {
    inner: cloud_ai_shared::queue::sqs::SqsUpdateQueue,
    refused: i64,
}

#[async_trait::async_trait]
impl cloud_ai_shared::queue::UpdateQueue for RefusingQueue {
    async fn send(
        &self,
        updates: &[cloud_ai_shared::queue::QueuedUpdate],
    ) -> Result<cloud_ai_shared::queue::SendOutcome, cloud_ai_shared::queue::QueueError> {
        let kept: Vec<_> = updates
            .iter()
            .filter(|u| u.update_id != self.refused)
            .cloned()
            .collect();
        let mut outcome = self.inner.send(&kept).await?;
        if kept.len() < updates.len() {
            outcome
                .rejected
                .push((self.refused, "InternalError: try again".into()));
        }
        Ok(outcome)
    }
}

#[tokio::test]
async fn a_refused_entry_stops_the_offset_just_before_it() {
    let setup = setup().await;
    for id in 800..806 {
        setup
            .bot
            .telegram
            .queue_update(fixtures::text(id, 3, 3, &format!("n{id}")));
    }
    let config = MotoServer::shared().sdk_config().await;
    let refusing = Poller::new(
        Arc::new(HttpTelegram::new(&setup.bot.telegram.base_url, TOKEN)),
        Arc::new(RefusingQueue {
            inner: aws::sqs_update_queue(&config, &setup.queue_url),
            refused: 802,
        }),
        setup.bot.store.clone(),
        PollSettings {
            long_poll: Duration::from_secs(1),
            reserve: Duration::from_millis(0),
            min_interval: Duration::from_millis(100),
        },
    );
    let error = refusing.run(soon()).await.unwrap_err();
    assert!(
        matches!(error, PollError::Rejected { update_id: 802, .. }),
        "{error}"
    );
    assert_eq!(setup.bot.store.last_update_id().await.unwrap(), Some(801));

    // The next run fetches from 802 again; SQS deduplicates 803..805, sent the first time.
    poller(&setup, &setup.queue_url)
        .await
        .run(soon())
        .await
        .unwrap();
    assert_eq!(setup.bot.store.last_update_id().await.unwrap(), Some(805));
    let mut ids: Vec<String> = drain(&setup.sqs, &setup.queue_url)
        .await
        .into_iter()
        .map(|r| r.deduplication_id)
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        ["800", "801", "802", "803", "804", "805"],
        "every update exactly once"
    );
}

#[tokio::test]
async fn updates_out_of_order_are_queued_in_order_and_once() {
    let setup = setup().await;
    // A Telegram that answered out of order (it does not; the poller must not rely on it).
    let poller = poller_on(
        &setup,
        Unordered(
            vec![fixtures::text(31, 1, 1, "b"), fixtures::text(30, 1, 1, "a")],
            Offsets::Honoured,
        ),
    )
    .await;
    poller.run(Instant::now()).await.unwrap();
    assert_eq!(setup.bot.store.last_update_id().await.unwrap(), Some(31));
    let order: Vec<String> = drain(&setup.sqs, &setup.queue_url)
        .await
        .into_iter()
        .map(|r| r.deduplication_id)
        .collect();
    assert_eq!(order, ["30", "31"]);
}

#[tokio::test]
async fn update_ids_that_restarted_below_the_offset_are_queued_and_the_offset_follows() {
    let setup = setup().await;
    setup.bot.store.advance(900_000).await.unwrap();
    let poller = poller_on(
        &setup,
        Unordered(
            vec![
                fixtures::text(41, 1, 1, "after a quiet week"),
                fixtures::text(42, 1, 1, "and again"),
            ],
            Offsets::IdsRestarted,
        ),
    )
    .await;
    poller.run(Instant::now()).await.unwrap();
    assert_eq!(setup.bot.store.last_update_id().await.unwrap(), Some(42));
    let queued: Vec<String> = drain(&setup.sqs, &setup.queue_url)
        .await
        .into_iter()
        .map(|r| r.deduplication_id)
        .collect();
    assert_eq!(queued, ["41", "42"], "queued once each, not dropped");
}

/// A poller on the test queue that asks `telegram` for updates.
async fn poller_on(setup: &Setup, telegram: Unordered) -> Poller {
    Poller::new(
        Arc::new(telegram),
        Arc::new(aws::sqs_update_queue(
            &MotoServer::shared().sdk_config().await,
            &setup.queue_url,
        )),
        setup.bot.store.clone(),
        PollSettings {
            long_poll: Duration::from_secs(1),
            reserve: Duration::from_millis(0),
            min_interval: Duration::from_millis(100),
        },
    )
}

/// Answers `getUpdates` with fixed updates in the given order.
struct Unordered(Vec<serde_json::Value>, Offsets);

#[derive(PartialEq)]
enum Offsets {
    /// Only updates at or after the offset, as the Bot API documents.
    Honoured,
    /// Telegram's ids restarted below the offset ("after a week without updates the next id is
    /// chosen at random"): the new updates come whatever the offset.
    IdsRestarted,
}

#[async_trait::async_trait]
impl cloud_ai_shared::telegram::Telegram for Unordered {
    async fn get_me(
        &self,
    ) -> Result<cloud_ai_shared::telegram::BotUser, cloud_ai_shared::telegram::TelegramError> {
        unreachable!("the poller does not ask who it is")
    }
    async fn get_updates(
        &self,
        offset: Option<i64>,
        _: u32,
        _: u32,
    ) -> Result<Vec<Box<serde_json::value::RawValue>>, cloud_ai_shared::telegram::TelegramError>
    {
        let from = offset.unwrap_or(0);
        Ok(self
            .0
            .iter()
            .filter(|u| self.1 == Offsets::IdsRestarted || u["update_id"].as_i64().unwrap() >= from)
            .map(|u| serde_json::value::to_raw_value(u).unwrap())
            .collect())
    }
    async fn send_text(
        &self,
        _: i64,
        _: Option<i64>,
        _: &str,
        _: cloud_ai_shared::telegram::TextFormat,
    ) -> Result<cloud_ai_shared::telegram::SentMessage, cloud_ai_shared::telegram::TelegramError>
    {
        unreachable!("the poller sends no messages")
    }
    async fn edit_text(
        &self,
        _: i64,
        _: i64,
        _: &str,
        _: cloud_ai_shared::telegram::TextFormat,
    ) -> Result<(), cloud_ai_shared::telegram::TelegramError> {
        unreachable!("the poller edits no messages")
    }
    async fn send_chat_action(
        &self,
        _: i64,
        _: &str,
    ) -> Result<(), cloud_ai_shared::telegram::TelegramError> {
        unreachable!("the poller shows no actions")
    }
    async fn send_document(
        &self,
        _: i64,
        _: Option<i64>,
        _: &str,
        _: Vec<u8>,
        _: &str,
    ) -> Result<cloud_ai_shared::telegram::SentMessage, cloud_ai_shared::telegram::TelegramError>
    {
        unreachable!("the poller sends no documents")
    }
    async fn get_file(
        &self,
        _: &str,
    ) -> Result<cloud_ai_shared::telegram::FileInfo, cloud_ai_shared::telegram::TelegramError> {
        unreachable!("the poller fetches no files")
    }
    async fn set_my_commands(
        &self,
        _: cloud_ai_shared::domain::command::table::MenuScope,
        _: &[cloud_ai_shared::domain::command::table::MenuEntry],
    ) -> Result<(), cloud_ai_shared::telegram::TelegramError> {
        unreachable!("the poller's role sets no menus (its Lambda's start does)")
    }
    async fn download_file(
        &self,
        _: &str,
        _: u64,
    ) -> Result<Vec<u8>, cloud_ai_shared::telegram::TelegramError> {
        unreachable!("the poller downloads nothing")
    }
}

/// The original bot's offset row (`pk 0`, `sk last_update_id`) keeps the next offset in
/// `last_offset` (update id + 1). Taking over its table, the poller starts right there, and keeps
/// that attribute in step, so the original could take the table back.
#[tokio::test]
async fn the_original_bots_offset_row_is_taken_over_and_kept_in_step() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let setup = setup().await;
    setup
        .bot
        .dynamodb
        .put_item()
        .table_name(&setup.bot.table)
        .item("pk", AttributeValue::N("0".into()))
        .item("sk", AttributeValue::S("last_update_id".into()))
        .item("last_offset", AttributeValue::N("701".into()))
        .item("last_updated_ts", AttributeValue::N("1764000000".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(setup.bot.store.last_update_id().await.unwrap(), Some(700));
    let telegram = &setup.bot.telegram;
    for id in [700, 701, 702] {
        telegram.queue_update(fixtures::text(id, 11, 11, &format!("hello {id}")));
    }
    let report = poller(&setup, &setup.queue_url)
        .await
        .run(soon())
        .await
        .unwrap();
    assert_eq!(report.queued, 2, "the original handled 700 already");
    let queued: Vec<String> = drain(&setup.sqs, &setup.queue_url)
        .await
        .into_iter()
        .map(|r| r.deduplication_id)
        .collect();
    assert_eq!(queued, ["701", "702"]);
    let row = setup
        .bot
        .dynamodb
        .get_item()
        .table_name(&setup.bot.table)
        .key("pk", AttributeValue::N("0".into()))
        .key("sk", AttributeValue::S("last_update_id".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(row["last_update_id"], AttributeValue::N("702".into()));
    assert_eq!(
        row["last_offset"],
        AttributeValue::N("703".into()),
        "the original's own attribute follows"
    );
}
