//! Switching from the original bot: the table and the bucket on moto hold what its handler writes
//! (`tests/original_bot/`), then cloud-ai runs on them. Every user finds their sessions, the active
//! one, their history and their archives as they left them; the poller goes on from the
//! original's offset; an adoption cut short at any append resumes to the same stream and rows.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use cloud_ai_shared::archive::ArchiveStore;
use cloud_ai_shared::aws;
use cloud_ai_shared::domain::events::{Event, RecordedEvent};
use cloud_ai_shared::domain::projection::{Rows, rebuild_rows};
use cloud_ai_shared::domain::record::record;
use cloud_ai_shared::domain::state::UserState;
use cloud_ai_shared::error::{BackendError, Retry};
use cloud_ai_shared::handlers::Adopter;
use cloud_ai_shared::handlers::poller::{PollSettings, Poller};
use cloud_ai_shared::store::{Append, EventStore, ReceiptWrite, StoreError};
use cloud_ai_shared::telegram::http::HttpTelegram;
use cloud_ai_tests::bot::{TOKEN, TestBot};
use cloud_ai_tests::fake_telegram::Sent;
use cloud_ai_tests::fixtures;
use cloud_ai_tests::moto::MotoServer;
use cloud_ai_tests::original_bot::seed;
use cloud_ai_tests::queues::{create_fifo_queue, drain};
use serde_json::Value;

const TWO_SESSIONS: i64 = 1001;
const LONG_SESSION: i64 = 1002;
const ONLY_IMPORTED: i64 = 1003;

fn sessions(seeded: &Value, user: i64) -> Vec<Value> {
    seeded["users"][user.to_string()]["sessions"]
        .as_array()
        .unwrap()
        .clone()
}

fn archives(seeded: &Value, user: i64) -> Vec<String> {
    seeded["users"][user.to_string()]["archives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

/// No item anywhere in the table still holds a conversation.
async fn conversations_left(bot: &TestBot) -> usize {
    let mut left = 0;
    for user in [TWO_SESSIONS, LONG_SESSION, ONLY_IMPORTED] {
        left += bot
            .raw_items(user)
            .await
            .iter()
            .filter(|item| item.contains_key("conversation"))
            .count();
    }
    left
}

async fn exported(bot: &TestBot, user: i64, number: usize) -> Vec<u8> {
    bot.say(user, &format!("/export {number}")).await;
    bot.telegram
        .sent()
        .into_iter()
        .find_map(|sent| match sent {
            Sent::Document { bytes, .. } => Some(bytes),
            _ => None,
        })
        .expect("the archive is sent as a document")
}

#[tokio::test]
async fn the_original_bots_users_find_everything_as_they_left_it() {
    let bot = TestBot::start().await;
    let seeded = seed(&bot, "all", None);

    // Two sessions in the original's order, the second active, and one archive.
    let listed = bot.say(TWO_SESSIONS, "/listsessions").await;
    let original = sessions(&seeded, TWO_SESSIONS);
    assert_eq!(original.len(), 2);
    for (i, session) in original.iter().enumerate() {
        let line = listed
            .lines()
            .find(|l| l.starts_with(&format!("{}. ", i + 1)))
            .unwrap_or_else(|| panic!("session {} is listed: {listed}", i + 1));
        assert!(
            line.contains(&format!("{} messages", session["messages"])),
            "{line}"
        );
        assert_eq!(
            line.ends_with("← active"),
            session["active"].as_bool().unwrap(),
            "{line}"
        );
    }
    let history = bot.say(TWO_SESSIONS, "/history").await;
    assert!(history.contains("in session two"), "{history}");
    assert!(!history.contains("first session"), "{history}");
    let listed = bot.say(TWO_SESSIONS, "/listarchives").await;
    assert!(
        listed.contains(
            "1. \"to be archived\" · llama3 · 2 messages · archived 2024-01-15 10:30 UTC"
        ),
        "{listed}"
    );
    let key = &archives(&seeded, TWO_SESSIONS)[0];
    let stored = bot.archives.get(key).await.unwrap().unwrap();
    assert_eq!(
        exported(&bot, TWO_SESSIONS, 1).await,
        stored,
        "exported as the original wrote it"
    );

    // 500 messages in one session.
    let listed = bot.say(LONG_SESSION, "/listsessions").await;
    assert!(
        listed.contains("1. \"message 0 of the long session\" · llama3 · 500 messages"),
        "{listed}"
    );
    assert!(listed.contains("← active"), "{listed}");
    let history = bot.say(LONG_SESSION, "/history").await;
    assert!(
        history.contains("message 499 of the long session"),
        "{history}"
    );
    assert!(
        history.contains("message 490 of the long session"),
        "{history}"
    );

    // Only an archive the original imported.
    let listed = bot.say(ONLY_IMPORTED, "/listarchives").await;
    assert!(
        listed.contains("1. \"imported hello\" · mistral · 2 messages · imported"),
        "{listed}"
    );
    let key = &archives(&seeded, ONLY_IMPORTED)[0];
    let stored = bot.archives.get(key).await.unwrap().unwrap();
    assert_eq!(exported(&bot, ONLY_IMPORTED, 1).await, stored);
    let listed = bot.say(ONLY_IMPORTED, "/listsessions").await;
    assert!(!listed.contains("1."), "no live session: {listed}");

    // The conversations now live in message rows, the stream rebuilds them, and each stream
    // tells that it was adopted.
    assert_eq!(conversations_left(&bot).await, 0);
    for user in [TWO_SESSIONS, LONG_SESSION, ONLY_IMPORTED] {
        let events = bot.events(user).await;
        assert!(matches!(events[0].event, Event::AdoptionStarted { .. }));
        assert!(events.iter().any(|e| e.event == Event::AdoptionCompleted));
        let replayed: Vec<Event> = events.into_iter().map(|e| e.event).collect();
        assert_eq!(bot.live_rows(user).await, rebuild_rows(user, &replayed));
    }

    // Adopted sessions go on as ours: a message lands in the active one, and archiving works.
    bot.say(TWO_SESSIONS, "a new message after the switch")
        .await;
    let listed = bot.say(TWO_SESSIONS, "/listsessions").await;
    assert!(
        listed.lines().any(
            |l| l.starts_with("2. \"in session two\" · llama3 · 3 messages")
                && l.ends_with("← active")
        ),
        "{listed}"
    );
    let archived = bot.say(TWO_SESSIONS, "/archive 1").await;
    assert!(archived.starts_with("Archived session 1"), "{archived}");
    let listed = bot.say(TWO_SESSIONS, "/listarchives").await;
    assert!(
        listed.contains("2. \"hello from the first session\" · llama3 · 4 messages · archived"),
        "{listed}"
    );
    let first = original[0]["session_id"].as_str().unwrap();
    assert!(
        bot.archive(&format!("archives/{TWO_SESSIONS}/{first}.json"))
            .await
            .is_some_and(|doc| doc.conversation.len() == 4)
    );
}

#[tokio::test]
async fn the_first_update_after_the_originals_offset_is_answered_once_and_no_earlier_one() {
    let bot = TestBot::start().await;
    seed(&bot, "all", None);
    let config = MotoServer::shared().sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue_url =
        create_fifo_queue(&sqs, &format!("updates-{}", uuid::Uuid::new_v4().simple())).await;
    // The original saved 5001 as the next offset: 5000 is one it answered.
    bot.telegram.queue_update(fixtures::text(
        5000,
        TWO_SESSIONS,
        TWO_SESSIONS,
        "/echo old",
    ));
    bot.telegram.queue_update(fixtures::text(
        5001,
        TWO_SESSIONS,
        TWO_SESSIONS,
        "/echo new",
    ));
    let poller = Poller::new(
        Arc::new(HttpTelegram::new(&bot.telegram.base_url, TOKEN)),
        Arc::new(aws::sqs_update_queue(&config, &queue_url)),
        bot.store.clone(),
        PollSettings {
            long_poll: Duration::from_secs(1),
            reserve: Duration::from_millis(0),
            min_interval: Duration::from_millis(100),
        },
    );
    let report = poller
        .run(tokio::time::Instant::now() + Duration::from_millis(1500))
        .await
        .unwrap();
    assert_eq!(report.queued, 1);
    let queued = drain(&sqs, &queue_url).await;
    assert_eq!(queued.len(), 1);
    bot.telegram.clear_sent();
    let update: Value = serde_json::from_str(&queued[0].body).unwrap();
    // Delivered twice, as SQS may.
    bot.handle(&update).await.unwrap();
    bot.handle(&update).await.unwrap();
    assert_eq!(bot.telegram.texts(), ["new"]);
}

/// An event store that crashes (fails every append) after a number of appends.
struct CrashingStore {
    inner: Arc<dyn EventStore>,
    appends_left: AtomicUsize,
}

#[async_trait]
impl EventStore for CrashingStore {
    async fn load(&self, user_id: i64) -> Result<UserState, StoreError> {
        self.inner.load(user_id).await
    }
    async fn append(&self, append: Append) -> Result<(), StoreError> {
        let allowed = self
            .appends_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if !allowed {
            return Err(
                BackendError::message("TransactWriteItems", Retry::Transient, "crashed").into(),
            );
        }
        self.inner.append(append).await
    }
    async fn events(&self, user_id: i64) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.events(user_id).await
    }
}

const SMALL: i64 = 2001;
/// Small appends, so that the small user's adoption takes several.
const PER_APPEND: usize = 3;

async fn adopted_with_crash(crash_after: Option<usize>) -> (Vec<RecordedEvent>, Rows, usize) {
    let bot = TestBot::start().await;
    seed(&bot, "small", Some(SMALL));
    let adopter = |store: Arc<dyn EventStore>| {
        Adopter::new(store, bot.store.clone(), bot.archives.clone())
            .with_events_per_append(PER_APPEND)
    };
    if let Some(appends) = crash_after {
        let crashing = Arc::new(CrashingStore {
            inner: bot.store.clone(),
            appends_left: AtomicUsize::new(appends),
        });
        let result = adopter(crashing).adopt(SMALL, 0).await;
        assert!(
            result.is_err(),
            "the crash after {appends} appends stops it"
        );
        let rows = bot.live_rows(SMALL).await;
        // Until a session's row is ours, the original's item keeps the whole conversation.
        let items = bot.raw_items(SMALL).await;
        for item in items.iter().filter(|i| i.contains_key("conversation")) {
            let AttributeValue::S(sk) = &item["sk"] else {
                panic!("no sort key")
            };
            assert!(!rows.contains_key(sk));
        }
    }
    let adoption = adopter(bot.store.clone()).adopt(SMALL, 0).await.unwrap();
    assert!(!adoption.own_stream);
    let left = bot
        .raw_items(SMALL)
        .await
        .iter()
        .filter(|i| i.contains_key("conversation"))
        .count();
    (bot.events(SMALL).await, bot.live_rows(SMALL).await, left)
}

#[tokio::test]
async fn an_adoption_cut_short_at_any_append_resumes_to_the_same_stream_and_rows() {
    let (events, rows, left) = adopted_with_crash(None).await;
    assert_eq!(left, 0);
    let appends = events.len().div_ceil(PER_APPEND);
    assert!(appends >= 4, "the small user takes several appends");
    let replayed: Vec<Event> = events.iter().map(|e| e.event.clone()).collect();
    assert_eq!(rows, rebuild_rows(SMALL, &replayed));
    for crash_after in 0..appends {
        let (resumed_events, resumed_rows, left) = adopted_with_crash(Some(crash_after)).await;
        assert_eq!(resumed_events, events, "crash after {crash_after} appends");
        assert_eq!(resumed_rows, rows, "crash after {crash_after} appends");
        assert_eq!(left, 0);
    }
}

#[tokio::test]
async fn a_second_adoption_writes_nothing_and_a_user_of_ours_is_never_merged() {
    let bot = TestBot::start().await;
    // A user of ours first (a session, none active, so the original's handler leaves it be),
    // then the original writes for them too: both bots ran.
    let created = record(
        SMALL,
        &UserState::default(),
        vec![Event::SessionCreated {
            session_id: uuid::Uuid::new_v4(),
            model_name: "llama3".into(),
            chat_id: SMALL,
            created_at: 1_700_000_000,
        }],
        1,
    );
    bot.store
        .append(Append {
            user_id: SMALL,
            expected_version: 0,
            events: created.events,
            state: created.next,
            changes: created.changes,
            receipt: ReceiptWrite::None,
        })
        .await
        .unwrap();
    seed(&bot, "small", Some(SMALL));
    let before = bot.raw_items(SMALL).await.len();
    let adopter = Adopter::new(bot.store.clone(), bot.store.clone(), bot.archives.clone());
    let adoption = adopter.adopt(SMALL, 0).await.unwrap();
    assert!(adoption.own_stream);
    assert_eq!(adoption.appends, 0);
    assert_eq!(bot.raw_items(SMALL).await.len(), before);

    let seeded_user = SMALL + 1;
    seed(&bot, "small", Some(seeded_user));
    let first = adopter.adopt(seeded_user, 0).await.unwrap();
    assert_eq!(first.found.sessions, 2);
    assert_eq!(first.written, first.found);
    let items = bot.raw_items(seeded_user).await;
    let second = adopter.adopt(seeded_user, 0).await.unwrap();
    assert_eq!(second.appends, 0);
    assert_eq!(bot.raw_items(seeded_user).await, items);
    assert_eq!(
        adopter.candidates().await.unwrap(),
        [SMALL, seeded_user],
        "the original's users: SMALL's items are still the original's"
    );
}
