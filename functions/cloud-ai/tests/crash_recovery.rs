//! SIGKILL in the middle of a burst of updates, then a restart: every update is answered, every
//! event is recorded exactly once, and each user's stream is whole and in order.
//!
//! One thing no bot can promise across a kill: when Telegram has taken a message and the
//! process dies before writing that down, the next start sends it again (the Bot API has no
//! idempotency key). So a reply may appear twice only for an update being handled at the very
//! moment of the kill: at most one per chat.

use std::time::Duration;

use cloud_ai_shared::domain::events::{Event, Role};
use cloud_ai_shared::sqlite::Database;
use cloud_ai_shared::store::EventStore;
use cloud_ai_shared::store::sqlite::SqliteStore;
use cloud_ai_tests::bot::TOKEN;
use cloud_ai_tests::bot_process::{
    BotProcess, Conversation, chat_bot_env, eventually, temp_data_dir,
};
use cloud_ai_tests::fake_model::FakeModel;
use cloud_ai_tests::fake_telegram::FakeTelegram;

const BINARY: &str = env!("CARGO_BIN_EXE_cloud-ai");
const USERS: [i64; 5] = [91001, 91002, 91003, 91004, 91005];
const PER_USER: usize = 40;

/// What user `user` sends as their `k`-th update, and the text that answers it.
fn exchange(user: i64, k: usize) -> (String, String) {
    if k.is_multiple_of(2) {
        (format!("/echo u{user}-{k}"), format!("u{user}-{k}"))
    } else {
        let text = format!("chat u{user}-{k}");
        (text.clone(), format!("Echo: {text}"))
    }
}

#[tokio::test]
async fn a_kill_mid_burst_loses_nothing_and_duplicates_no_event() {
    let telegram = FakeTelegram::start(TOKEN).await;
    let model = FakeModel::start(&["llama3:latest"]).await;
    let data_dir = temp_data_dir();
    let env = chat_bot_env(&telegram, &data_dir, &model, &[]);
    let conversation = Conversation::new(telegram.clone(), 70_000);
    // The whole burst waits in Telegram before the bot starts, interleaved across users.
    for k in 0..PER_USER {
        for user in USERS {
            conversation.send(user, &exchange(user, k).0);
        }
    }
    let total = USERS.len() * PER_USER;

    let mut bot = BotProcess::start(BINARY, &env);
    eventually(
        Duration::from_secs(60),
        "a third of the burst to be answered",
        || (telegram.sent().len() >= total / 3).then_some(()),
        || bot.logs(),
    )
    .await;
    bot.kill().await;
    let answered_at_kill = telegram.sent().len();
    assert!(
        answered_at_kill < total,
        "the kill came before the end of the burst"
    );

    let mut bot = BotProcess::start(BINARY, &env);
    let expected: Vec<(i64, String)> = USERS
        .iter()
        .flat_map(|&user| (0..PER_USER).map(move |k| (user, exchange(user, k).1)))
        .collect();
    eventually(
        Duration::from_secs(120),
        "every update to be answered",
        || {
            let shown = telegram.shown_texts(&USERS);
            expected
                .iter()
                .all(|key| shown.get(key).is_some_and(|n| *n >= 1))
                .then_some(())
        },
        || {
            let shown = telegram.shown_texts(&USERS);
            let missing: Vec<_> = expected.iter().filter(|k| !shown.contains_key(k)).collect();
            format!("missing {missing:?}\n{}", bot.logs())
        },
    )
    .await;
    // Let anything still on its way arrive before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(bot.terminate(Duration::from_secs(30)).await.success());

    let shown = telegram.shown_texts(&USERS);
    let twice: Vec<_> = expected.iter().filter(|k| shown[*k] > 1).collect();
    println!(
        "killed after {answered_at_kill} of {total} replies; shown twice after the restart: {twice:?}"
    );
    // The Bot API has no idempotency key: a message Telegram took just before the kill, before
    // the bot wrote it down, is sent again after the restart. For a plain reply that shows it
    // twice; for a streamed answer it leaves the first piece shown on its own (a beginning of
    // that answer). Either way at most one per chat: the update that chat had in flight.
    let leftovers: Vec<_> = shown
        .keys()
        .filter(|key| !expected.contains(key) && !key.1.starts_with("Hello"))
        .collect();
    let beginnings: Vec<&(i64, String)> = leftovers
        .iter()
        .copied()
        .filter(|(user, text)| {
            expected
                .iter()
                .any(|(u, answer)| u == user && answer.starts_with(text.as_str()))
        })
        .collect();
    assert_eq!(beginnings, leftovers, "nothing else was shown");
    assert!(
        expected.iter().all(|k| shown[k] <= 2),
        "only a reply in flight at the kill may show twice: {twice:?}"
    );
    for user in USERS {
        let here = twice.iter().filter(|(u, _)| *u == user).count()
            + beginnings.iter().filter(|(u, _)| *u == user).count();
        assert!(here <= 1, "user {user}: {twice:?} {beginnings:?}");
    }

    // The streams: every chat message and every answer recorded once, in order, no gaps.
    let store = SqliteStore::new(Database::open(&data_dir.join("cloud-ai.sqlite3")).unwrap());
    for user in USERS {
        let events = store.events(user).await.unwrap();
        let versions: Vec<u64> = events.iter().map(|e| e.version).collect();
        assert_eq!(versions, (1..=events.len() as u64).collect::<Vec<_>>());
        let posted: Vec<(Role, String)> = events
            .iter()
            .filter_map(|e| match &e.event {
                Event::MessagePosted { role, content, .. } => Some((*role, content.clone())),
                _ => None,
            })
            .collect();
        let wanted: Vec<(Role, String)> = (0..PER_USER)
            .filter(|k| !k.is_multiple_of(2))
            .flat_map(|k| {
                let (asked, answer) = exchange(user, k);
                [(Role::User, asked), (Role::Assistant, answer)]
            })
            .collect();
        assert_eq!(posted, wanted, "user {user}'s conversation, in order, once");
        let created = events
            .iter()
            .filter(|e| matches!(e.event, Event::SessionCreated { .. }))
            .count();
        assert_eq!(created, 1, "user {user} has one session");
    }
    std::fs::remove_dir_all(&data_dir).unwrap();
}
