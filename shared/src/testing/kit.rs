//! Given/when/then for the command role on the in-memory adapters:
//!
//! ```ignore
//! let kit = Kit::new();
//! kit.given(ADA, events).await;
//! kit.when(ADA, "/listsessions").await.then_replies(&["1. llama3 · ..."]);
//! ```
//!
//! Updates are delivered as a queue does: again after each failure worth retrying, so a kit
//! with [`Faults`] shows what a crash between any two steps leaves behind.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use serde_json::Value;

use crate::archive::memory::MemoryArchives;
use crate::clock::ManualClock;
use crate::domain::access::AccessPolicy;
use crate::domain::events::{Event, RecordedEvent};
use crate::domain::limits::Limits;
use crate::domain::record::record;
use crate::handlers::answer::{AnswerSettings, Answerer};
use crate::handlers::{CommandHandler, HandleError, Outcome, Settings, StoragePorts};
use crate::model::memory::MemoryModel;
use crate::store::memory::MemoryStore;
use crate::store::{Append, ReceiptWrite};
use crate::telegram::memory::MemoryTelegram;

use super::faults::Faults;
use super::updates;

/// The user the kit's updates come from by default.
pub const ADA: i64 = 4242;
/// How many deliveries of one update a kit tries before it gives up.
const MAX_DELIVERIES: usize = 100;

pub struct Kit {
    pub faults: Arc<Faults>,
    /// The handler's clock: still until a test moves it.
    pub clock: Arc<ManualClock>,
    pub store: Arc<MemoryStore>,
    pub archives: Arc<MemoryArchives>,
    pub telegram: Arc<MemoryTelegram>,
    pub handler: CommandHandler,
    next_update: AtomicI64,
    /// Every update delivered so far, to deliver again.
    delivered: std::sync::Mutex<Vec<Value>>,
}

impl Default for Kit {
    fn default() -> Kit {
        Kit::new()
    }
}

/// The bot as the kit runs it: open to everyone, no model backend, limits out of the way.
pub fn settings() -> Settings {
    Settings {
        default_model: "llama3".into(),
        bot_username: Some("cloudaibot".into()),
        bot_id: Some(1),
        access: AccessPolicy::open(),
        limits: Limits {
            messages_per_minute: u64::MAX,
            ..Limits::default()
        },
    }
}

impl Kit {
    pub fn new() -> Kit {
        Kit::with_faults(Faults::default())
    }

    /// A kit whose adapters fail as `faults` plans.
    pub fn with_faults(faults: Faults) -> Kit {
        Kit::build(faults, settings())
    }

    /// A kit whose bot answers chat messages with an in-memory model (`llama3`, answering
    /// "Echo: <message>" in pieces of `piece_chars`), and whose adapters fail as `faults` plans.
    pub fn answering(faults: Faults, piece_chars: usize) -> Kit {
        Kit::answering_with(faults, MemoryModel::new(&["llama3:latest"], piece_chars))
    }

    /// A kit whose bot answers chat messages with `model`.
    pub fn answering_with(faults: Faults, model: MemoryModel) -> Kit {
        let mut kit = Kit::build(faults, settings());
        kit.handler = kit
            .handler
            .answering_with(Answerer::new(Arc::new(model), AnswerSettings::default()));
        kit
    }

    /// A kit whose bot runs with `settings` (other limits, a private access list).
    pub fn with_settings(settings: Settings) -> Kit {
        Kit::build(Faults::default(), settings)
    }

    fn build(faults: Faults, settings: Settings) -> Kit {
        let faults = Arc::new(faults);
        // The kit's updates are dated from 1 764 000 000 on (see `updates`).
        let clock = Arc::new(ManualClock::at(1_764_000_000));
        let store = Arc::new(MemoryStore::new(faults.clone()));
        let archives = Arc::new(MemoryArchives::new(faults.clone()));
        let telegram = Arc::new(MemoryTelegram::new(faults.clone()));
        let handler = CommandHandler::new(
            StoragePorts::of(store.clone(), archives.clone()),
            telegram.clone(),
            settings,
        )
        .with_clock(clock.clone());
        Kit {
            faults,
            clock,
            store,
            archives,
            telegram,
            handler,
            next_update: AtomicI64::new(1),
            delivered: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Records `events` in `user_id`'s stream, as earlier updates would have (with their live
    /// rows).
    pub async fn given(&self, user_id: i64, events: Vec<Event>) -> &Kit {
        let state = self.store.state_of(user_id);
        let update_id = self.next_update.fetch_add(1, Ordering::SeqCst);
        let recorded = record(user_id, &state, events, update_id);
        self.store
            .write(Append::of(
                user_id,
                state.version,
                recorded,
                ReceiptWrite::None,
            ))
            .expect("the given events follow the stream");
        self
    }

    /// `text` from `user_id` in their private chat, delivered until handled; what it showed and
    /// recorded.
    pub async fn when(&self, user_id: i64, text: &str) -> Then {
        let update_id = self.next_update.fetch_add(1, Ordering::SeqCst);
        let shown_before = self.telegram.shown_in(user_id).len();
        let update = updates::text(update_id, user_id, user_id, text);
        self.delivered.lock().unwrap().push(update.clone());
        let outcome = self
            .deliver(&update)
            .await
            .unwrap_or_else(|e| panic!("{text:?} was not handled: {e}"));
        let events = self.store.stream(user_id);
        Then {
            outcome,
            shown: self.telegram.shown_in(user_id)[shown_before..]
                .iter()
                .map(|s| s.summary())
                .collect(),
            events: events
                .into_iter()
                .filter(|e| e.update_id == update_id)
                .collect(),
        }
    }

    /// Delivers every update again, as an at-least-once queue may; their outcomes.
    pub async fn redeliver_all(&self) -> Vec<Outcome> {
        let delivered = self.delivered.lock().unwrap().clone();
        let mut outcomes = Vec::new();
        for update in &delivered {
            outcomes.push(self.deliver(update).await.expect("a redelivery is handled"));
        }
        outcomes
    }

    /// Delivers `update` as a queue does: again after each failure worth retrying (after the
    /// lease of an interrupted try runs out), until it is handled or fails for good.
    pub async fn deliver(&self, update: &Value) -> Result<Outcome, HandleError> {
        let mut last = None;
        for _ in 0..MAX_DELIVERIES {
            match self.handler.handle(update).await {
                Ok(outcome) => return Ok(outcome),
                Err(error) if error.is_retryable() => {
                    if matches!(error, HandleError::InProgress { .. }) {
                        self.store.expire_leases();
                    }
                    last = Some(error);
                }
                Err(error) => return Err(error),
            }
        }
        Err(last.expect("at least one delivery"))
    }
}

/// What one update did.
#[derive(Debug)]
pub struct Then {
    pub outcome: Outcome,
    /// What the chat showed after it (texts; `<file name>` for documents).
    pub shown: Vec<String>,
    /// The events it recorded.
    pub events: Vec<RecordedEvent>,
}

impl Then {
    pub fn then_replies(&self, expected: &[&str]) -> &Then {
        assert_eq!(self.shown, expected, "the replies");
        self
    }

    pub fn then_events(&self, names: &[&str]) -> &Then {
        let recorded: Vec<&str> = self.events.iter().map(|e| e.event.name()).collect();
        assert_eq!(recorded, names, "the events");
        self
    }
}
