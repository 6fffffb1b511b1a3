//! The pipeline on moto: the command role publishes every event on an EventBridge bus (a rule
//! routes them to an observation queue, as the test's stand-in for the archiver's Lambda target),
//! and the archiver role, fed the `Archived` event, writes the archive, deletes the rows and only
//! then confirms. Publishing survives a failed `PutEvents`.

use std::sync::Arc;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use cloud_ai_shared::aws;
use cloud_ai_shared::bus::BusEvent;
use cloud_ai_shared::handlers::archive_event::handle_archive_event;
use cloud_ai_shared::handlers::{CommandHandler, Outcome};
use cloud_ai_tests::bot::TestBot;
use cloud_ai_tests::fixtures;
use cloud_ai_tests::moto::MotoServer;
use cloud_ai_tests::observed_bus::ObservedBus;

struct Pipeline {
    bot: TestBot,
    bus: ObservedBus,
    /// The command role: publishes on the bus, leaves archiving to the archiver.
    command: CommandHandler,
    /// The archiver role: no bus, runs archive jobs itself.
    archiver: CommandHandler,
}

async fn pipeline() -> Pipeline {
    let bot = TestBot::start().await;
    let config = MotoServer::shared().sdk_config().await;
    let bus = ObservedBus::create(&config, r#"{"source": ["cloud-ai.command"]}"#).await;
    let command = bot
        .new_handler()
        .publishing_to(Arc::new(aws::eventbridge_bus(&config, &bus.name)));
    let archiver = bot.new_handler();
    Pipeline {
        bot,
        bus,
        command,
        archiver,
    }
}

/// The EventBridge events the rule delivered, as the archiver's Lambda would receive them.
async fn observed(p: &Pipeline) -> Vec<EventBridgeEvent<serde_json::Value>> {
    p.bus.take().await
}

/// The detail-types of the events published since the last look, in order.
async fn published_types(p: &Pipeline) -> Vec<String> {
    observed(p)
        .await
        .into_iter()
        .map(|e| e.detail_type)
        .collect()
}

async fn say(p: &Pipeline, update_id: i64, user: i64, text: &str) -> Outcome {
    p.command
        .handle(&fixtures::text(update_id, user, user, text))
        .await
        .unwrap()
}

#[tokio::test]
async fn every_event_is_published_and_the_archiver_finishes_archiving() {
    let p = pipeline().await;
    let user = 550001;
    say(&p, 1, user, "keep this").await;
    let published = observed(&p).await;
    let types: Vec<&str> = published.iter().map(|e| e.detail_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "SessionCreated",
            "Switched",
            "MessagePosted",
            "SessionTitled"
        ]
    );
    assert!(published.iter().all(|e| e.source == "cloud-ai.command"));
    let detail: BusEvent = serde_json::from_value(published[2].detail.clone()).unwrap();
    assert_eq!(
        (detail.user_id, detail.version, detail.update_id),
        (user, 3, 1)
    );

    p.bot.telegram.clear_sent();
    assert_eq!(say(&p, 2, user, "/archive 1").await, Outcome::Handled);
    assert!(
        p.bot.telegram.sent().is_empty(),
        "no confirmation before the archive exists"
    );
    assert!(p.bot.object_keys().await.is_empty());
    let archived = observed(&p).await;
    assert_eq!(archived.len(), 1);
    assert_eq!(archived[0].detail_type, "Archived");

    // The archiver role receives the event (twice: EventBridge delivers at least once).
    assert_eq!(
        handle_archive_event(&p.archiver, &archived[0])
            .await
            .unwrap(),
        Outcome::Resumed
    );
    assert_eq!(
        handle_archive_event(&p.archiver, &archived[0])
            .await
            .unwrap(),
        Outcome::Duplicate
    );
    let keys = p.bot.object_keys().await;
    assert_eq!(keys.len(), 1);
    assert_eq!(
        p.bot.archive(&keys[0]).await.unwrap().conversation[0].content,
        "keep this"
    );
    assert!(
        p.bot.live_rows(user).await.is_empty(),
        "the live rows are gone"
    );
    assert_eq!(
        p.bot.telegram.texts(),
        vec![
            "Archived session 1 \"keep this\" (llama3, 1 message). It is archive 1 in /listarchives."
        ],
        "one confirmation, sent after the archive exists"
    );
    // A late redelivery of the /archive update itself changes nothing.
    assert_eq!(say(&p, 2, user, "/archive 1").await, Outcome::Duplicate);
    assert!(observed(&p).await.is_empty());
}

#[tokio::test]
async fn events_left_unpublished_by_a_failure_are_published_on_redelivery() {
    let p = pipeline().await;
    let user = 550002;
    let config = MotoServer::shared().sdk_config().await;
    let broken = p
        .bot
        .new_handler()
        .publishing_to(Arc::new(aws::eventbridge_bus(&config, "no-such-bus")));
    let update = fixtures::text(10, user, user, "publish me");
    let error = broken.handle(&update).await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert_eq!(p.bot.events(user).await.len(), 4, "the events are stored");
    assert!(observed(&p).await.is_empty());
    assert!(p.bot.telegram.sent().is_empty());

    // The redelivered update publishes what was left, then replies, and appends nothing.
    assert_eq!(p.command.handle(&update).await.unwrap(), Outcome::Resumed);
    let types = published_types(&p).await;
    assert_eq!(
        types,
        [
            "SessionCreated",
            "Switched",
            "MessagePosted",
            "SessionTitled"
        ]
    );
    assert_eq!(p.bot.events(user).await.len(), 4);
    assert_eq!(p.bot.telegram.sent().len(), 1);
}

#[tokio::test]
async fn a_restore_publishes_the_restored_messages_and_a_delete_runs_in_the_command_role() {
    let p = pipeline().await;
    let user = 550003;
    say(&p, 1, user, "first").await;
    say(&p, 2, user, "second").await;
    say(&p, 3, user, "/archive 1").await;
    let archived = observed(&p).await;
    let event = archived
        .iter()
        .find(|e| e.detail_type == "Archived")
        .expect("the Archived event");
    handle_archive_event(&p.archiver, event).await.unwrap();

    p.bot.telegram.clear_sent();
    assert_eq!(say(&p, 4, user, "/restore 1").await, Outcome::Handled);
    assert!(
        p.bot
            .telegram
            .last_text()
            .starts_with("Restored archive 1 \"first\" as session 1 (llama3, 2 messages)."),
        "{}",
        p.bot.telegram.last_text()
    );
    let kinds = published_types(&p).await;
    assert_eq!(
        kinds,
        [
            "SessionRestored",
            "Switched",
            "MessagePosted",
            "MessagePosted"
        ],
        "every restored message is published"
    );

    // A confirmed delete needs no archiver: the command role deletes the rows.
    assert_eq!(
        say(&p, 5, user, "/delete 1 confirm").await,
        Outcome::Handled
    );
    assert!(p.bot.live_rows(user).await.is_empty());
    assert_eq!(published_types(&p).await, ["SessionDeleted"]);
}
