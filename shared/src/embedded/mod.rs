//! The whole bot in one process: the poller, command and archiver roles of the Lambdas, on the
//! same handlers, joined by an update queue and an event bus kept in an embedded SQLite database.
//!
//! - **Storage**: the event store and live rows in the same database and the archives in a
//!   folder with the bucket's layout (`DATA_DIR/archives/{user_id}/{session_id}.json`), or the
//!   DynamoDB table and S3 bucket (`STORAGE=aws`).
//! - **Guarantees**: the poller's offset moves only past updates the queue holds; an update
//!   leaves the queue only once handled; each chat's updates are handled one at a time, in
//!   order; an `Archived` event leaves the bus only once the archiver finished it. A crash at any
//!   point redelivers, and the receipts make redelivery harmless.
//! - **Stopping**: polling stops at once; updates being handled get
//!   [`EmbeddedConfig::shutdown_grace`] to finish; whatever is cut short is resumed on the next
//!   start, which also gives back the leases a crashed run held.

pub mod adopt_all;
mod config;
pub mod dead_letters;
mod dispatch_events;
mod dispatch_updates;
mod http;
mod polling;
mod retry;
mod start;

pub use config::{DEFAULT_DATA_DIR, DEFAULT_LISTEN_ADDR, EmbeddedConfig, Storage, WebhookSettings};
pub use start::{DATABASE_FILE, EmbeddedBot, LOCK_FILE, StartError};
