//! A 2,000-message session, with messages near Telegram's length limit: no item comes near
//! DynamoDB's 400 KB limit, history reads only the newest messages, and the archive holds them all.

use aws_sdk_dynamodb::types::AttributeValue;
use cloud_ai_tests::bot::TestBot;
use cloud_ai_tests::fixtures;

const MESSAGES: usize = 2000;

fn item_size(item: &std::collections::HashMap<String, AttributeValue>) -> usize {
    item.iter()
        .map(|(name, value)| {
            name.len()
                + match value {
                    AttributeValue::S(s) | AttributeValue::N(s) => s.len(),
                    _ => 16,
                }
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_thousand_message_session_works() {
    let bot = TestBot::start().await;
    let user = 660001;
    // 2,000 messages of 4,000 characters: 8 MB of conversation, 20 times an item's limit. The
    // first 1,999 are seeded in bulk (see `seed_session`); the 2,000th goes through the handler.
    let body = "x".repeat(3990);
    bot.seed_session(user, MESSAGES - 1, |i| format!("{i:06} {body}"))
        .await;
    let last = fixtures::text(100_000, user, user, &format!("{:06} {body}", MESSAGES - 1));
    bot.handle(&last).await.unwrap();
    let state = cloud_ai_shared::store::EventStore::load(bot.store.as_ref(), user)
        .await
        .unwrap();
    assert_eq!(state.sessions[0].message_count, MESSAGES as u64);

    let items = bot.raw_items(user).await;
    let largest = items.iter().map(item_size).max().unwrap();
    assert!(largest < 16 * 1024, "the largest item is {largest} bytes");
    let state_item = items
        .iter()
        .find(|i| i.get("sk") == Some(&AttributeValue::S("STATE".into())))
        .unwrap();
    assert!(
        item_size(state_item) < 2048,
        "the folded state does not grow with messages"
    );

    let history = bot.say(user, "/history").await;
    assert!(
        history.starts_with(&format!("Last 10 of {MESSAGES} messages in session 1:")),
        "{}",
        &history[..80]
    );
    assert!(
        history.contains("You: 001999 ")
            && history.contains("You: 001990 ")
            && !history.contains("You: 001989 ")
    );

    bot.say(user, "/archive 1").await;
    let key = bot.object_keys().await.remove(0);
    let archive = bot.archive(&key).await.unwrap();
    assert_eq!(archive.conversation.len(), MESSAGES);
    assert!(
        archive
            .conversation
            .iter()
            .enumerate()
            .all(|(i, m)| m.content.starts_with(&format!("{i:06} "))),
        "in order"
    );
    assert!(bot.live_rows(user).await.is_empty());
}
