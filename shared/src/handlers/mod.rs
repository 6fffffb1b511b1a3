//! The roles, written against the ports: handling an update (command) and archiving a session.

pub mod adoption;
pub mod answer;
pub mod archive_event;
pub mod archiver;
pub mod command;
mod delivery;
mod import;
pub mod menu;
pub mod poller;
pub mod sqs_batch;

pub use adoption::{AdoptError, Adopter, Adoption, Tally};
pub use archiver::{Archiver, ArchiverError};
pub use command::{CommandHandler, HandleError, Outcome, Settings};
