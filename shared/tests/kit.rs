//! The command role on the in-memory kit: given/when/then examples, and the property that a
//! crash between any two port calls, followed by the queue's redeliveries, leaves exactly the
//! events and archives of a run without crashes, and shows every reply (a reply shows twice
//! only where a crash hit right after it was sent: one per crash at most).

use cloud_ai_shared::domain::events::Event;
use cloud_ai_shared::handlers::Outcome;
use cloud_ai_shared::model::memory::MemoryModel;
use cloud_ai_shared::testing::faults::{Fault, Faults};
use cloud_ai_shared::testing::kit::{ADA, Kit};
use proptest::prelude::*;
use uuid::Uuid;

const BOB: i64 = 777;

/// A runtime whose clock jumps over waits (Telegram's retry pauses) as soon as all is idle.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
}

#[test]
fn given_a_session_when_listing_then_it_is_shown_and_nothing_is_recorded() {
    runtime().block_on(async {
        let kit = Kit::new();
        let session_id = Uuid::from_u128(7);
        kit.given(
            ADA,
            vec![
                Event::SessionCreated {
                    session_id,
                    model_name: "llama3".into(),
                    chat_id: ADA,
                    created_at: 1_764_000_000,
                },
                Event::Switched { session_id },
            ],
        )
        .await;
        kit.when(ADA, "/listsessions")
            .await
            .then_events(&[])
            .then_replies(&[
                "Your sessions:\n1. llama3 · 0 messages · last 2025-11-24 16:00 UTC ← active\n\nSwitch with /switch <number>.",
            ]);
        kit.when(ADA, "Hello")
            .await
            .then_events(&["MessagePosted", "SessionTitled"])
            .then_replies(&[
                "Saved to session 1. No model backend is configured yet, so there is no AI reply; /status says more.",
            ]);
    });
}

#[test]
fn a_crash_after_the_append_finishes_the_update_once_on_redelivery() {
    runtime().block_on(async {
        // Calls of a first message: load (access), receipt, take (limit), load, list (adoption),
        // original_sessions, ..., append: fail the append after it wrote.
        let probe = Kit::new();
        probe.when(ADA, "/newsession").await;
        let append_at = probe
            .faults
            .journal()
            .iter()
            .position(|c| c.name == "append")
            .expect("an append");
        let kit = Kit::with_faults(Faults::planned([(append_at, Fault::After)]));
        let then = kit.when(ADA, "/newsession").await;
        assert_eq!(then.outcome, Outcome::Resumed, "finished by a redelivery");
        then.then_events(&["SessionCreated", "Switched"])
            .then_replies(&["Started session 1 (llama3). It is now active."]);
        assert_eq!(kit.faults.injected(), 1);
    });
}

#[test]
fn an_answer_complete_before_its_first_send_is_one_message_and_no_edit() {
    runtime().block_on(async {
        let model = MemoryModel::new(&["llama3:latest"], 2).all_at_once();
        let kit = Kit::answering_with(Faults::default(), model);
        let started = tokio::time::Instant::now();
        kit.when(ADA, "Hello there").await;
        let calls = |name: &str| {
            kit.faults
                .journal()
                .iter()
                .filter(|c| c.name == name)
                .count()
        };
        assert_eq!(
            (calls("sendMessage"), calls("editMessageText")),
            (1, 0),
            "one message, never edited"
        );
        assert_eq!(kit.telegram.summaries_in(ADA), ["Echo: Hello there"]);
        assert!(
            started.elapsed() < std::time::Duration::from_millis(500),
            "nothing waited for the edit interval: {:?}",
            started.elapsed()
        );
    });
}

#[test]
fn a_streamed_answer_shows_its_end_as_soon_as_it_is_written() {
    runtime().block_on(async {
        // Pieces arrive one at a time: the first is sent, the rest come in one last edit.
        let kit = Kit::answering(Faults::default(), 3);
        let started = tokio::time::Instant::now();
        kit.when(ADA, "Hello there").await;
        assert_eq!(kit.telegram.summaries_in(ADA), ["Echo: Hello there"]);
        assert!(
            started.elapsed() < std::time::Duration::from_millis(500),
            "the last edit did not wait out the one-second interval: {:?}",
            started.elapsed()
        );
    });
}

#[test]
fn over_the_minute_limit_a_user_is_told_once_and_may_write_again_the_next_minute() {
    runtime().block_on(async {
        let mut settings = cloud_ai_shared::testing::kit::settings();
        settings.limits.messages_per_minute = 2;
        let kit = Kit::with_settings(settings);
        kit.when(ADA, "one").await.then_events(&[
            "SessionCreated",
            "Switched",
            "MessagePosted",
            "SessionTitled",
        ]);
        kit.when(ADA, "two").await.then_events(&["MessagePosted"]);
        let over = kit.when(ADA, "three").await;
        assert_eq!(over.outcome, Outcome::Limited);
        over.then_events(&[]);
        assert_eq!(over.shown.len(), 1, "told once: {:?}", over.shown);
        assert!(over.shown[0].contains("(2 a minute)"), "{:?}", over.shown);
        kit.when(ADA, "four")
            .await
            .then_events(&[])
            .then_replies(&[]);
        kit.clock.advance(60);
        kit.when(ADA, "five").await.then_events(&["MessagePosted"]);
    });
}

/// What a user may send in the property below.
const TEXTS: &[&str] = &[
    "/start",
    "/newsession",
    "/listsessions",
    "/switch 1",
    "/switch 2",
    "/history",
    "/archive",
    "/archive 1",
    "/delete 1",
    "/delete 1 confirm",
    "/rename 1 Trip",
    "/persona tutor",
    "/retry",
    "/restore 1",
    "/listarchives",
    "/export 1",
    "/status",
    "hello",
    "and another thing",
];

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![Just(Fault::Before), Just(Fault::After)]
}

/// Consecutive repeats folded into one: a reply resent after a crash.
fn folded(shown: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in shown {
        if out.last() != Some(s) {
            out.push(s.clone());
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn crashes_between_any_two_steps_leave_exactly_once_events_and_every_reply(
        updates in prop::collection::vec((prop::bool::ANY, prop::sample::select(TEXTS)), 1..12),
        plan in prop::collection::vec((0usize..300, fault()), 0..6),
    ) {
        runtime().block_on(async {
            let calm = Kit::new();
            let crashing = Kit::with_faults(Faults::planned(plan));
            for (from_bob, text) in &updates {
                let user = if *from_bob { BOB } else { ADA };
                calm.when(user, text).await;
                crashing.when(user, text).await;
            }
            for user in [ADA, BOB] {
                let expected = calm.store.stream(user);
                let got = crashing.store.stream(user);
                prop_assert_eq!(got, expected, "the events of {}", user);
                prop_assert_eq!(crashing.store.rows_of(user), calm.store.rows_of(user), "the rows of {}", user);
                let shown = |kit: &Kit| -> Vec<String> {
                    kit.telegram.summaries_in(user)
                };
                let (calm_shown, crash_shown) = (shown(&calm), shown(&crashing));
                prop_assert_eq!(folded(&crash_shown), folded(&calm_shown));
                prop_assert!(crash_shown.len() >= calm_shown.len(), "a reply was lost");
                prop_assert!(
                    crash_shown.len() - calm_shown.len() <= crashing.faults.injected(),
                    "{} replies shown twice after {} crashes",
                    crash_shown.len() - calm_shown.len(),
                    crashing.faults.injected()
                );
            }
            prop_assert_eq!(crashing.archives.keys(), calm.archives.keys());
            // Every update delivered again changes nothing and says nothing.
            let (events, shown) = (crashing.store.stream(ADA), crashing.telegram.shown());
            let outcomes = crashing.redeliver_all().await;
            prop_assert!(outcomes.iter().all(|o| *o == Outcome::Duplicate), "{:?}", outcomes);
            prop_assert_eq!(crashing.store.stream(ADA), events);
            prop_assert_eq!(crashing.telegram.shown(), shown);
            Ok(())
        })?;
    }
}

/// Whether `part` appears in `whole` in order (other items between).
fn in_order(part: &[String], whole: &[String]) -> bool {
    let mut rest = whole.iter();
    part.iter().all(|p| rest.any(|w| w == p))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// With a model answering in pieces (sent, then edited in place), a crash may leave a
    /// message Telegram took but the bot never learned of (a first piece, or a whole reply):
    /// the answer is still recorded exactly once, and every message of the calm run shows, in
    /// order, with at most one extra message per crash.
    #[test]
    fn answers_survive_crashes_and_are_recorded_once(
        updates in prop::collection::vec(prop::sample::select(TEXTS), 1..8),
        plan in prop::collection::vec((0usize..400, fault()), 0..6),
    ) {
        runtime().block_on(async {
            let calm = Kit::answering(Faults::default(), 3);
            let crashing = Kit::answering(Faults::planned(plan), 3);
            for text in &updates {
                calm.when(ADA, text).await;
                crashing.when(ADA, text).await;
            }
            prop_assert_eq!(crashing.store.stream(ADA), calm.store.stream(ADA));
            let shown = |kit: &Kit| -> Vec<String> {
                kit.telegram.summaries_in(ADA)
            };
            let (calm_shown, crash_shown) = (shown(&calm), shown(&crashing));
            if updates.iter().any(|t| !t.starts_with('/')) {
                prop_assert!(calm_shown.iter().any(|s| s.starts_with("Echo: ")), "answered: {:?}", calm_shown);
            }
            prop_assert!(in_order(&calm_shown, &crash_shown), "{:?}\nvs\n{:?}", calm_shown, crash_shown);
            prop_assert!(crash_shown.len() - calm_shown.len() <= crashing.faults.injected());
            let outcomes = crashing.redeliver_all().await;
            prop_assert!(outcomes.iter().all(|o| *o == Outcome::Duplicate), "{:?}", outcomes);
            prop_assert_eq!(crashing.store.stream(ADA), calm.store.stream(ADA));
            prop_assert_eq!(shown(&crashing), crash_shown);
            Ok(())
        })?;
    }
}
