//! The roles, written against the ports: handling an update (command), finishing its receipt,
//! archiving a session, polling Telegram.

pub mod adoption;
pub mod answer;
mod append;
pub mod archive_event;
pub mod archiver;
pub mod command;
mod conversation;
mod delivery;
pub mod error;
mod gate;
mod import;
pub mod menu;
pub mod outcome;
mod photos;
pub mod poller;
mod receipt_runner;
mod restore;
pub mod settings;
pub mod sqs_batch;
pub mod storage;
mod voice;
pub mod webhook;

pub use adoption::{AdoptError, Adopter, Adoption, Tally};
pub use archiver::{Archiver, ArchiverError};
pub use command::CommandHandler;
pub use error::HandleError;
pub use outcome::Outcome;
pub use receipt_runner::{ChatAnswers, Pipeline};
pub use settings::Settings;
pub use storage::StoragePorts;
