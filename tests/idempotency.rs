//! At-least-once delivery: duplicates append nothing and answer nothing; a crash between any two
//! steps is finished by the redelivery; two writers never both append the same version.

use std::sync::Arc;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use cloud_ai_shared::domain::events::{Event, RecordedEvent};
use cloud_ai_shared::domain::state::UserState;
use cloud_ai_shared::handlers::{HandleError, Outcome};
use cloud_ai_shared::store::{Append, EventStore, Receipt, ReceiptWrite, Receipts, StoreError};
use cloud_ai_tests::bot::TestBot;
use cloud_ai_tests::fake_telegram::Failure;
use cloud_ai_tests::fixtures;
use uuid::Uuid;

#[tokio::test]
async fn a_duplicate_update_appends_nothing_and_sends_no_second_reply() {
    let bot = TestBot::start().await;
    let user = 880001;
    let update = fixtures::text(5001, user, user, "remember this");
    assert_eq!(bot.handle(&update).await.unwrap(), Outcome::Handled);
    let events = bot.events(user).await;
    let items = bot.raw_items(user).await.len();
    assert_eq!(bot.telegram.sent().len(), 1);

    assert_eq!(bot.handle(&update).await.unwrap(), Outcome::Duplicate);
    assert_eq!(bot.events(user).await, events, "no event is appended twice");
    assert_eq!(bot.raw_items(user).await.len(), items);
    assert_eq!(bot.telegram.sent().len(), 1, "no second reply");

    // Read-only commands are deduplicated too.
    let list = fixtures::text(5002, user, user, "/listsessions");
    bot.handle(&list).await.unwrap();
    bot.handle(&list).await.unwrap();
    assert_eq!(bot.telegram.sent().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_update_delivered_twice_at_once_is_handled_once() {
    let bot = Arc::new(TestBot::start().await);
    let user = 880002;
    let update = fixtures::text(6001, user, user, "/newsession");
    let (a, b) = tokio::join!(bot.handle(&update), bot.handle(&update));
    let outcomes = [a, b];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Ok(Outcome::Handled)))
            .count(),
        1,
        "{outcomes:?}"
    );
    // The loser either saw the finished receipt or was told to come back later (so the queue
    // redelivers it), never both answering.
    assert!(
        outcomes.iter().all(|o| matches!(
            o,
            Ok(Outcome::Handled | Outcome::Duplicate) | Err(HandleError::InProgress { .. })
        )),
        "{outcomes:?}"
    );
    assert_eq!(
        bot.handle(&update).await.unwrap(),
        Outcome::Duplicate,
        "a later redelivery does nothing"
    );
    let created = bot
        .events(user)
        .await
        .iter()
        .filter(|r| matches!(r.event, Event::SessionCreated { .. }))
        .count();
    assert_eq!(created, 1);
    assert_eq!(
        bot.telegram.texts(),
        vec!["Started session 1 (llama3). It is now active."]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_appends_to_one_stream_leave_exactly_the_winners_writes() {
    let bot = TestBot::start().await;
    let user = 880003;
    // Other data in the table, as in any real one (it also widened the window in which moto,
    // before the harness ran its DynamoDB requests one at a time, let a losing transaction's
    // rollback erase the winner's writes, and a loser's writes survive).
    for chunk in 0..8 {
        let puts = (0..25)
            .map(|i| {
                let item = std::collections::HashMap::from([
                    ("pk".to_string(), AttributeValue::N("880099".into())),
                    (
                        "sk".to_string(),
                        AttributeValue::S(format!("FILLER#{chunk}#{i}")),
                    ),
                    ("body".to_string(), AttributeValue::S("x".repeat(200))),
                ]);
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                    .build()
            })
            .collect();
        bot.dynamodb
            .batch_write_item()
            .request_items(&bot.table, puts)
            .send()
            .await
            .unwrap();
    }
    let append = |update_id: i64| {
        let store = bot.store.clone();
        async move {
            let event = Event::SessionCreated {
                session_id: Uuid::from_u128(update_id as u128),
                model_name: "llama3".into(),
                chat_id: user,
                created_at: 1,
            };
            let mut state = UserState::default();
            state.apply(&event);
            state.version = 1;
            let events = [RecordedEvent {
                version: 1,
                update_id,
                event,
            }];
            let receipt = Receipt {
                update_id,
                chat_id: user,
                reply_to: None,
                asked_by: 0,
                replies: Vec::new(),
                archive_jobs: Vec::new(),
                replies_sent: 0,
                archive_jobs_done: true,
                deletions: Vec::new(),
                restores: Vec::new(),
                unpublished: Vec::new(),
                answer_message_ids: Vec::new(),
            };
            let result = store
                .append(Append {
                    user_id: user,
                    expected_version: 0,
                    events: events.to_vec(),
                    state,
                    changes: Vec::new(),
                    receipt: ReceiptWrite::Create(receipt),
                })
                .await;
            (update_id, result)
        }
    };
    let results = futures::future::join_all((1..=8).map(append)).await;
    let winners: Vec<i64> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|(_, r)| r.is_ok()
                || matches!(r, Err(StoreError::VersionConflict { expected: 0, .. }))),
        "{results:?}"
    );
    let mut keys: Vec<String> = bot
        .raw_items(user)
        .await
        .iter()
        .map(|item| match &item["sk"] {
            AttributeValue::S(sk) => sk.clone(),
            other => panic!("a sort key that is not a string: {other:?}"),
        })
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "EVENT#000000000001".to_string(),
            "STATE".to_string(),
            format!("UPDATE#{}", winners[0]),
        ],
        "the winner's state, event and receipt, and nothing of the losers'"
    );
    let state = bot.store.load(user).await.unwrap();
    assert_eq!(state.sessions.len(), 1);
    assert_eq!(
        state.sessions[0].session_id,
        Uuid::from_u128(winners[0] as u128)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_of_one_user_are_all_recorded_in_order() {
    let bot = Arc::new(TestBot::start().await);
    let user = 880004;
    bot.say(user, "/newsession").await;
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let bot = bot.clone();
            tokio::spawn(async move {
                let update = fixtures::text(7000 + i, user, user, &format!("message {i}"));
                bot.handle(&update).await
            })
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.await.unwrap().unwrap(), Outcome::Handled);
    }
    let state = bot.store.load(user).await.unwrap();
    assert_eq!(
        state.sessions[0].message_count, 6,
        "every racing message was kept"
    );
    let versions: Vec<u64> = bot.events(user).await.iter().map(|r| r.version).collect();
    assert_eq!(
        versions,
        (1..=9).collect::<Vec<_>>(),
        "versions are gapless"
    );
}

#[tokio::test]
async fn a_reply_that_failed_is_sent_on_redelivery_without_appending_again() {
    let bot = TestBot::start().await;
    let user = 880005;
    // Telegram fails every attempt the handler makes in place (it tries four times).
    bot.telegram
        .fail_next("sendMessage", 4, Failure::server_error());
    let update = fixtures::text(8001, user, user, "/newsession");
    let error = bot.handle(&update).await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert!(
        !format!("{error} {error:?}").contains(cloud_ai_tests::bot::TOKEN),
        "the token never shows in errors"
    );
    assert_eq!(
        bot.events(user).await.len(),
        2,
        "the decision was recorded before the reply"
    );
    assert!(bot.telegram.sent().is_empty());

    assert_eq!(bot.handle(&update).await.unwrap(), Outcome::Resumed);
    assert_eq!(
        bot.telegram.texts(),
        vec!["Started session 1 (llama3). It is now active."]
    );
    assert_eq!(
        bot.events(user).await.len(),
        2,
        "the redelivery appended nothing"
    );
    assert_eq!(bot.handle(&update).await.unwrap(), Outcome::Duplicate);
    assert_eq!(bot.telegram.sent().len(), 1);
}

#[tokio::test]
async fn a_crashed_handler_keeps_its_lease_until_it_expires() {
    let bot = TestBot::start().await;
    let user = 880008;
    let update = fixtures::text(8101, user, user, "/newsession");
    bot.handle(&update).await.unwrap();
    // Make the receipt look unfinished and still leased, as a handler that died mid-reply leaves it.
    let mut receipt = bot.store.receipt(user, 8101).await.unwrap().unwrap();
    receipt.replies_sent = 0;
    bot.store.save_progress(user, &receipt).await.unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!(
        !bot.store.claim(user, 8101, now, now + 60).await.unwrap(),
        "the first handler still holds it"
    );
    bot.store.release(user, 8101).await.unwrap();
    assert!(
        bot.store.claim(user, 8101, now, now + 60).await.unwrap(),
        "a released lease can be taken"
    );
    bot.telegram.clear_sent();
    assert!(matches!(
        bot.handle(&update).await,
        Err(HandleError::InProgress { update_id: 8101 })
    ));
    assert!(
        bot.telegram.sent().is_empty(),
        "nothing is sent while another holds the lease"
    );
    // Once the lease has run out, the redelivery finishes the job.
    assert!(
        bot.store
            .claim(user, 8101, now + 61, now - 1)
            .await
            .unwrap()
    );
    assert_eq!(bot.handle(&update).await.unwrap(), Outcome::Resumed);
    assert_eq!(
        bot.telegram.texts(),
        vec!["Started session 1 (llama3). It is now active."]
    );
}

#[tokio::test]
async fn telegram_rate_limits_are_waited_out() {
    let bot = TestBot::start().await;
    let user = 880006;
    bot.telegram
        .fail_next("sendMessage", 1, Failure::too_many_requests(1));
    let started = std::time::Instant::now();
    assert_eq!(bot.say(user, "/echo patience").await, "patience");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "retry_after was honoured"
    );
    assert_eq!(
        bot.telegram
            .calls()
            .iter()
            .filter(|c| *c == "sendMessage")
            .count(),
        2
    );
}

#[tokio::test]
async fn a_user_who_blocked_the_bot_does_not_hold_up_their_updates() {
    let bot = TestBot::start().await;
    let user = 880007;
    bot.telegram.fail_next("sendMessage", 1, Failure::blocked());
    let update = fixtures::text(9001, user, user, "still stored");
    assert_eq!(bot.handle(&update).await.unwrap(), Outcome::Handled);
    assert_eq!(
        bot.store.load(user).await.unwrap().sessions[0].message_count,
        1
    );
    assert_eq!(bot.handle(&update).await.unwrap(), Outcome::Duplicate);
}

#[tokio::test]
async fn malformed_and_foreign_updates_are_refused_or_ignored_without_writing() {
    let bot = TestBot::start().await;
    let error = bot
        .handle(&serde_json::json!({"not": "an update"}))
        .await
        .unwrap_err();
    assert!(
        !error.is_retryable(),
        "a malformed update is not worth redelivering"
    );
    let edited = serde_json::json!({"update_id": 9100, "edited_message": {
        "message_id": 1, "date": 1, "edit_date": 2, "chat": {"id": 5, "type": "private"},
        "from": {"id": 5, "is_bot": false, "first_name": "E"}, "text": "changed"}});
    assert_eq!(bot.handle(&edited).await.unwrap(), Outcome::Ignored);
    let callback = serde_json::json!({"update_id": 9101, "callback_query": {
        "id": "1", "from": {"id": 5, "is_bot": false, "first_name": "E"}, "chat_instance": "x", "data": "d"}});
    assert_eq!(bot.handle(&callback).await.unwrap(), Outcome::Ignored);
    assert!(bot.raw_items(5).await.is_empty());
    assert!(bot.telegram.sent().is_empty());

    let sticker = fixtures::message(
        9102,
        6,
        6,
        serde_json::json!({"sticker": {"file_id": "s", "file_unique_id": "s", "type": "regular", "width": 1, "height": 1, "is_animated": false, "is_video": false}}),
    );
    assert_eq!(bot.handle(&sticker).await.unwrap(), Outcome::Handled);
    assert_eq!(
        bot.telegram.last_text(),
        "Sorry, I can't use a sticker. Send text to chat, or a JSON archive file to import it."
    );
}
