//! The command role's SQS batch handling, with the Lambda event shape: one bad body does not
//! fail the batch, a transient failure fails its record and every later one, duplicates answer once.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use cloud_ai_shared::handlers::sqs_batch::handle_batch;
use cloud_ai_tests::bot::TestBot;
use cloud_ai_tests::fake_telegram::Failure;
use cloud_ai_tests::fixtures;
use serde_json::json;

fn sqs_event(records: &[(&str, String)]) -> SqsEvent {
    let borrowed: Vec<(&str, &str)> = records
        .iter()
        .map(|(id, body)| (*id, body.as_str()))
        .collect();
    cloud_ai_tests::queues::sqs_event(&borrowed)
}

fn failures(response: &SqsBatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

#[tokio::test]
async fn a_poison_body_is_dropped_without_failing_the_batch() {
    let bot = TestBot::start().await;
    let event = sqs_event(&[
        ("m1", fixtures::text(1, 40, 40, "/echo one").to_string()),
        ("m2", "{not json".to_string()),
        ("m3", json!({"no": "update"}).to_string()),
        ("m4", fixtures::text(2, 40, 40, "/echo two").to_string()),
    ]);
    let response = handle_batch(&bot.handler, &event).await;
    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(bot.telegram.texts(), vec!["one", "two"]);
}

#[tokio::test]
async fn a_transient_failure_fails_its_record_and_every_later_one() {
    let bot = TestBot::start().await;
    let event = sqs_event(&[
        ("m1", fixtures::text(10, 41, 41, "/echo first").to_string()),
        ("m2", fixtures::text(11, 41, 41, "/echo second").to_string()),
        ("m3", fixtures::text(12, 41, 41, "/echo third").to_string()),
    ]);
    // The first reply goes through; the second meets a Telegram outage longer than its retries.
    let first_only = sqs_event(&[("m1", fixtures::text(10, 41, 41, "/echo first").to_string())]);
    assert!(failures(&handle_batch(&bot.handler, &first_only).await).is_empty());
    bot.telegram
        .fail_next("sendMessage", 4, Failure::server_error());
    let response = handle_batch(&bot.handler, &event).await;
    assert_eq!(failures(&response), ["m2", "m3"]);
    assert_eq!(
        bot.telegram.texts(),
        vec!["first"],
        "nothing overtook the failed record"
    );

    // Redelivery of the failed records (SQS keeps them in order) answers each once.
    let redelivered = sqs_event(&[
        ("m2", fixtures::text(11, 41, 41, "/echo second").to_string()),
        ("m3", fixtures::text(12, 41, 41, "/echo third").to_string()),
    ]);
    assert!(failures(&handle_batch(&bot.handler, &redelivered).await).is_empty());
    assert_eq!(bot.telegram.texts(), vec!["first", "second", "third"]);
}

#[tokio::test]
async fn the_same_message_twice_in_a_batch_is_answered_once() {
    let bot = TestBot::start().await;
    let body = fixtures::text(20, 42, 42, "/newsession").to_string();
    let response = handle_batch(
        &bot.handler,
        &sqs_event(&[("m1", body.clone()), ("m1-again", body)]),
    )
    .await;
    assert!(failures(&response).is_empty());
    assert_eq!(
        bot.telegram.texts(),
        vec!["Started session 1 (llama3). It is now active."]
    );
    assert_eq!(bot.events(42).await.len(), 2);
}

/// Unreadable stored state cannot mend itself: retrying would only walk the record to the
/// dead-letter queue while holding its chat. It is dropped (logged with the body) instead.
#[tokio::test]
async fn unreadable_stored_state_is_not_retried() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let bot = TestBot::start().await;
    bot.dynamodb
        .put_item()
        .table_name(&bot.table)
        .item("pk", AttributeValue::N("41".into()))
        .item("sk", AttributeValue::S("STATE".into()))
        .item("state", AttributeValue::S("{not the state".into()))
        .item("version", AttributeValue::N("3".into()))
        .send()
        .await
        .unwrap();
    let event = sqs_event(&[
        ("m1", fixtures::text(1, 41, 41, "/listsessions").to_string()),
        ("m2", fixtures::text(2, 42, 42, "/echo next").to_string()),
    ]);
    let response = handle_batch(&bot.handler, &event).await;
    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(bot.telegram.texts(), vec!["next"]);
}

/// Telegram has sent text with a lone UTF-16 surrogate escape: the body is valid JSON syntax but
/// no strict parser reads it into a string. It is answered (read as U+FFFD), not dropped.
#[tokio::test]
async fn a_body_with_a_lone_surrogate_escape_is_answered() {
    let bot = TestBot::start().await;
    let body = fixtures::text(1, 43, 43, "/echo half SURROGATE pair")
        .to_string()
        .replace("SURROGATE", "\\ud800");
    assert!(serde_json::from_str::<serde_json::Value>(&body).is_err());
    let response = handle_batch(&bot.handler, &sqs_event(&[("m1", body)])).await;
    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(bot.telegram.texts(), vec!["half \u{fffd} pair"]);
}

/// Three chats in one batch: their answers stream at the same time, so the batch takes about as
/// long as its slowest chat, while one chat's two messages are still answered in order.
#[tokio::test]
async fn the_chats_of_a_batch_are_answered_at_once_each_in_order() {
    use std::sync::Arc;
    use std::time::Duration;

    use cloud_ai_shared::handlers::answer::{AnswerSettings, Answerer};
    use cloud_ai_shared::model::ollama::Ollama;
    use cloud_ai_tests::fake_model::{FakeModel, Script};

    let bot = TestBot::start().await;
    let model = FakeModel::start(&["llama3:latest"]).await;
    let handler = bot.new_handler().answering_with(Answerer::new(
        Arc::new(Ollama::new(&model.base_url)),
        AnswerSettings::default(),
    ));
    for _ in 0..4 {
        model.script(Script::text(
            "one two three four",
            4,
            Duration::from_millis(60),
        ));
    }
    // (message id, chat, update id, text)
    let messages = [
        ("m1", 61, 1, "first of 61"),
        ("m2", 62, 2, "only of 62"),
        ("m3", 61, 3, "second of 61"),
        ("m4", 63, 4, "only of 63"),
    ];
    // Each chat is its own message group, as the poller queues it.
    let bodies: Vec<(&str, String, String)> = messages
        .iter()
        .map(|&(id, chat, update, text)| {
            let body = fixtures::text(update, chat, chat, text).to_string();
            (id, format!("chat{chat}"), body)
        })
        .collect();
    let records: Vec<(&str, &str, &str)> = bodies
        .iter()
        .map(|(id, group, body)| (*id, group.as_str(), body.as_str()))
        .collect();
    let response = handle_batch(
        &handler,
        &cloud_ai_tests::queues::sqs_event_in_groups(&records),
    )
    .await;
    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(
        model.most_at_once(),
        3,
        "the three chats' answers streamed at once"
    );
    for chat in [61, 62, 63] {
        let shown: Vec<String> = bot
            .telegram
            .chat_messages(chat)
            .iter()
            .map(|m| m.text.clone())
            .collect();
        let answers = if chat == 61 { 2 } else { 1 };
        assert_eq!(shown, vec!["one two three four"; answers], "chat {chat}");
    }
    let asked: Vec<String> = model
        .requests()
        .iter()
        .filter_map(|r| {
            r["messages"].as_array()?.last()?["content"]
                .as_str()
                .map(String::from)
        })
        .filter(|text| text.ends_with("of 61"))
        .collect();
    assert_eq!(
        asked,
        ["first of 61", "second of 61"],
        "chat 61 in its order"
    );
}
