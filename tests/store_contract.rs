//! One contract, three event stores: DynamoDB (on moto) and the embedded SQLite database must
//! behave alike, since the same handlers run on both; the test kit's in-memory store too, so
//! what the kit shows holds for them. Appends are atomic and guarded by the
//! stream version; a receipt is written once; leases, progress, live rows and the poller's offset
//! work the same.

use cloud_ai_shared::domain::decide::Reply;
use cloud_ai_shared::domain::events::{Event, ImageRef, Role};
use cloud_ai_shared::domain::limits::{MESSAGES, TOKENS, Window};
use cloud_ai_shared::domain::projection::rebuild_rows;
use cloud_ai_shared::domain::record::record;
use cloud_ai_shared::domain::state::UserState;
use cloud_ai_shared::sqlite::Database;
use cloud_ai_shared::store::sqlite::SqliteStore;
use cloud_ai_shared::store::{
    Allowance, Append, EventStore, FINISH_LEASE_SECONDS, OffsetStore, Quotas, Receipt,
    ReceiptWrite, Receipts, SessionRows, StoreError,
};
use cloud_ai_tests::bot::TestBot;
use uuid::Uuid;

trait Store: EventStore + Receipts + SessionRows + OffsetStore + Quotas {}
impl<T: EventStore + Receipts + SessionRows + OffsetStore + Quotas> Store for T {}

fn receipt(update_id: i64) -> Receipt {
    Receipt {
        update_id,
        chat_id: 1,
        reply_to: None,
        asked_by: 0,
        replies: vec![Reply::text("ok")],
        archive_jobs: Vec::new(),
        unpublished: Vec::new(),
        replies_sent: 0,
        archive_jobs_done: true,
        deletions: Vec::new(),
        restores: Vec::new(),
        answer_message_ids: Vec::new(),
    }
}

async fn append(
    store: &dyn Store,
    user_id: i64,
    state: &UserState,
    update_id: i64,
    events: Vec<Event>,
) -> Result<UserState, StoreError> {
    let recorded = record(user_id, state, events, update_id);
    store
        .append(Append {
            user_id,
            expected_version: state.version,
            events: recorded.events,
            state: recorded.next.clone(),
            changes: recorded.changes,
            receipt: ReceiptWrite::Create(receipt(update_id)),
        })
        .await?;
    Ok(recorded.next)
}

fn posted(session_id: Uuid, content: &str, ts: i64) -> Event {
    Event::MessagePosted {
        session_id,
        role: Role::User,
        content: content.into(),
        ts,
        usage: None,
        image: None,
    }
}

/// Runs the contract on a user of its own; returns that user.
async fn honours_the_contract(store: &dyn Store) -> i64 {
    let user = 60_000 + i64::from(rand_suffix());
    let session = Uuid::new_v4();
    assert_eq!(store.load(user).await.unwrap(), UserState::default());

    let opened = vec![
        Event::SessionCreated {
            session_id: session,
            model_name: "llama3".into(),
            chat_id: user,
            created_at: 1_700_000_000,
        },
        Event::Switched {
            session_id: session,
        },
    ];
    let state = append(store, user, &UserState::default(), 1, opened.clone())
        .await
        .unwrap();
    assert_eq!(store.load(user).await.unwrap(), state);

    // A writer that read version 0 loses the race, and writes nothing.
    let stale = append(store, user, &UserState::default(), 2, opened).await;
    assert!(
        matches!(stale, Err(StoreError::VersionConflict { .. })),
        "{stale:?}"
    );
    assert!(store.receipt(user, 2).await.unwrap().is_none());
    assert_eq!(store.events(user).await.unwrap().len(), 2);

    // The same update again is refused by its receipt, even with the right version.
    let again = append(store, user, &state, 1, vec![posted(session, "dup", 1)]).await;
    assert!(
        matches!(again, Err(StoreError::AlreadyRecorded { update_id: 1 })),
        "{again:?}"
    );

    let mut state = state;
    // The second message came with a photo, whose reference its row keeps.
    let photo = ImageRef {
        file_id: "AgAD-photo".into(),
        file_size: Some(61_000),
        width: 800,
        height: 533,
    };
    for (update, text) in [(3, "one"), (4, "two"), (5, "three")] {
        let mut message = posted(session, text, 1_700_000_000 + update);
        if let (Event::MessagePosted { image, .. }, 4) = (&mut message, update) {
            *image = Some(photo.clone());
        }
        state = append(store, user, &state, update, vec![message])
            .await
            .unwrap();
    }
    let events = store.events(user).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.version).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    let replayed: Vec<Event> = events.iter().map(|e| e.event.clone()).collect();
    assert_eq!(
        store.live_rows(user).await.unwrap(),
        rebuild_rows(user, &replayed)
    );
    let texts = |messages: Vec<cloud_ai_shared::domain::events::ChatMessage>| {
        messages.into_iter().map(|m| m.content).collect::<Vec<_>>()
    };
    assert_eq!(
        texts(store.recent_messages(user, session, 2).await.unwrap()),
        ["two", "three"]
    );
    let images: Vec<Option<ImageRef>> = store
        .context_messages(user, session, 10, 1_000)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.image)
        .collect();
    assert_eq!(images, [None, Some(photo.clone()), None]);
    assert_eq!(
        texts(store.all_messages(user, session).await.unwrap()),
        ["one", "two", "three"]
    );
    // The context: the newest messages within a budget of characters (the newest always).
    for (budget, expected) in [
        (100, vec!["one", "two", "three"]),
        (8, vec!["two", "three"]),
        (7, vec!["three"]),
        (2, vec!["three"]),
    ] {
        assert_eq!(
            texts(
                store
                    .context_messages(user, session, 200, budget)
                    .await
                    .unwrap()
            ),
            expected,
            "budget {budget}"
        );
    }
    assert_eq!(
        texts(store.context_messages(user, session, 2, 100).await.unwrap()),
        ["two", "three"]
    );

    // A receipt-only append (an update with no events) is recorded once too.
    let receipt_only = Append {
        user_id: user,
        expected_version: state.version,
        events: Vec::new(),
        state: state.clone(),
        changes: Vec::new(),
        receipt: ReceiptWrite::Create(receipt(6)),
    };
    store.append(receipt_only.clone()).await.unwrap();
    let twice = store.append(receipt_only).await;
    assert!(matches!(twice, Err(StoreError::AlreadyRecorded { .. })));

    // Progress and leases.
    let mut progress = store.receipt(user, 3).await.unwrap().unwrap();
    progress.replies_sent = 1;
    store.save_progress(user, &progress).await.unwrap();
    assert!(store.receipt(user, 3).await.unwrap().unwrap().is_complete());
    let now = chrono::Utc::now().timestamp();
    assert!(
        !store.claim(user, 3, now, now + 60).await.unwrap(),
        "the appender holds the lease"
    );
    assert!(
        store
            .claim(user, 3, now + FINISH_LEASE_SECONDS + 1, now + 500)
            .await
            .unwrap(),
        "an expired lease can be taken"
    );
    store.release(user, 3).await.unwrap();
    assert!(store.claim(user, 3, now, now + 60).await.unwrap());
    assert!(
        !store.claim(user, 99, now, now + 60).await.unwrap(),
        "no receipt, no lease"
    );

    // An answer recorded on an existing receipt.
    let recorded = record(user, &state, vec![posted(session, "answer", 9)], 5);
    let mut answered = receipt(5);
    answered.replies_sent = 1;
    store
        .append(Append {
            user_id: user,
            expected_version: state.version,
            events: recorded.events,
            state: recorded.next,
            changes: recorded.changes,
            receipt: ReceiptWrite::Update(answered),
        })
        .await
        .unwrap();
    assert_eq!(
        store.receipt(user, 5).await.unwrap().unwrap().replies_sent,
        1
    );
    assert_eq!(store.load(user).await.unwrap().version, 6);

    // Deleting a session's rows.
    let sort_key = cloud_ai_shared::domain::keys::session_sort_key("llama3", session);
    store
        .delete_session(user, &sort_key, session)
        .await
        .unwrap();
    assert!(store.live_rows(user).await.unwrap().is_empty());
    assert_eq!(
        store.events(user).await.unwrap().len(),
        6,
        "the stream stays"
    );

    // The poller's offset never moves back.
    let start = store.last_update_id().await.unwrap();
    store.advance(start.unwrap_or(0) + 10).await.unwrap();
    store.advance(start.unwrap_or(0) + 5).await.unwrap();
    assert_eq!(
        store.last_update_id().await.unwrap(),
        Some(start.unwrap_or(0) + 10)
    );

    // A stranger is refused once per quiet period, whoever asks how often.
    let stranger = user + 1;
    let now = 1_800_000_000;
    assert!(store.note_refusal(stranger, now, 3600).await.unwrap());
    assert!(!store.note_refusal(stranger, now + 1, 3600).await.unwrap());
    assert!(
        !store
            .note_refusal(stranger, now + 3599, 3600)
            .await
            .unwrap()
    );
    assert!(store.note_refusal(user + 2, now, 3600).await.unwrap());
    assert!(
        store
            .note_refusal(stranger, now + 3600, 3600)
            .await
            .unwrap()
    );
    assert!(
        store.events(stranger).await.unwrap().is_empty(),
        "a refusal leaves no stream"
    );

    // A counter grants up to its limit in a window, refuses after (saying so first once), and
    // starts afresh in the next window; adding past the limit always works.
    let minute = Window::minute(now);
    for _ in 0..3 {
        assert_eq!(
            store.take(user, MESSAGES, minute, 1, 3).await.unwrap(),
            Allowance::Granted
        );
    }
    assert_eq!(
        store.take(user, MESSAGES, minute, 1, 3).await.unwrap(),
        Allowance::Refused { first: true }
    );
    assert_eq!(
        store.take(user, MESSAGES, minute, 1, 3).await.unwrap(),
        Allowance::Refused { first: false }
    );
    assert_eq!(
        store.take(user + 1, MESSAGES, minute, 1, 3).await.unwrap(),
        Allowance::Granted,
        "counters are per user"
    );
    let next = Window::minute(minute.resets_at);
    assert_eq!(
        store.take(user, MESSAGES, next, 1, 3).await.unwrap(),
        Allowance::Granted
    );
    let day = Window::day(now);
    assert_eq!(
        store.take(user, TOKENS, day, 0, 100).await.unwrap(),
        Allowance::Granted
    );
    assert_eq!(
        store.take(user, TOKENS, day, 150, u64::MAX).await.unwrap(),
        Allowance::Granted
    );
    assert_eq!(
        store.take(user, TOKENS, day, 0, 100).await.unwrap(),
        Allowance::Refused { first: true }
    );
    // An admin's look at one window: every user's count in it, largest first.
    store
        .take(user + 1, TOKENS, day, 40, u64::MAX)
        .await
        .unwrap();
    let yesterday = Window::day(now - 86_400);
    store
        .take(user + 2, TOKENS, yesterday, 7, u64::MAX)
        .await
        .unwrap();
    let counts: Vec<(i64, u64)> = store
        .counts_in_window(TOKENS, day)
        .await
        .unwrap()
        .into_iter()
        .filter(|(id, _)| (user..=user + 2).contains(id))
        .collect();
    assert_eq!(counts, [(user, 150), (user + 1, 40)]);
    user
}

fn rand_suffix() -> u16 {
    (Uuid::new_v4().as_u128() & 0x7fff) as u16
}

#[tokio::test]
async fn dynamodb_honours_the_store_contract() {
    let bot = TestBot::start().await;
    honours_the_contract(bot.store.as_ref()).await;
}

#[tokio::test]
async fn sqlite_honours_the_store_contract() {
    let dir = std::env::temp_dir().join(format!("cloud-ai-contract-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::new(Database::open(&dir.join("store.sqlite3")).unwrap());
    let user = honours_the_contract(&store).await;
    // A start after a crash gives back the leases the crashed run held, so its unfinished
    // updates are finished at once.
    let now = chrono::Utc::now().timestamp();
    assert!(!store.claim(user, 1, now, now + 60).await.unwrap());
    assert!(store.recover().await.unwrap().released >= 1);
    assert!(store.claim(user, 1, now, now + 60).await.unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The test kit's store keeps the same contract, so what the kit shows holds for the real ones.
#[tokio::test]
async fn the_in_memory_store_honours_the_store_contract() {
    let store = cloud_ai_shared::store::memory::MemoryStore::new(Default::default());
    honours_the_contract(&store).await;
}
