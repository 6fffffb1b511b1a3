//! cloud-ai's library: the domain (free of I/O), the ports its handlers use, and their adapters.
//!
//! - [`domain`]: events, per-user state, command parsing, decisions, projections, archive format.
//! - [`store`]: the event store port and its DynamoDB adapter.
//! - [`archive`]: the archive store port and its S3 adapter.
//! - [`telegram`]: the Telegram Bot API port and its HTTP adapter.
//! - [`transcriber`]: the speech-to-text port (voice messages) and its OpenAI-API adapter.
//! - [`handlers`]: the roles (command handling, archiving) written against the ports.
//! - `testing` (feature `testing`): in-memory adapters, crash injection and a given/when/then kit.

pub mod archive;
#[cfg(feature = "aws")]
pub mod aws;
pub mod bus;
pub mod clock;
pub mod config;
pub mod domain;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod error;
pub mod handlers;
pub mod model;
#[cfg(feature = "aws")]
pub mod parameters;
pub mod queue;
#[cfg(feature = "embedded")]
pub mod sqlite;
pub mod store;
pub mod telegram;
#[cfg(feature = "testing")]
pub mod testing;
pub mod transcriber;
pub mod wiring;
