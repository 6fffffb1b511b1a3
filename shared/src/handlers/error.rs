//! What can go wrong handling an update or a bus event, and whether trying again may help: each
//! port says so of its own errors, and a queue decides from this, never by default.

use crate::archive::ArchiveError;
use crate::bus::BusError;
use crate::domain::update::MalformedUpdate;
use crate::store::StoreError;
use crate::telegram::TelegramError;

use super::adoption::AdoptError;
use super::archiver::ArchiverError;

#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The input is not an update; retrying cannot help.
    #[error(transparent)]
    Malformed(#[from] MalformedUpdate),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    Telegram(#[from] TelegramError),
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(transparent)]
    Adopt(#[from] AdoptError),
    /// A bus event that is not one of ours; retrying cannot help.
    #[error("not a cloud-ai event: {0}")]
    MalformedEvent(String),
    #[error("the stream of user {user_id} kept moving; gave up after {tries} tries")]
    Contention { user_id: i64, tries: usize },
    /// An event names an update whose receipt is not (yet) there: a read that did not see the
    /// write, or an event from elsewhere. Retried, so the bus dead-letters it in the end.
    #[error("no receipt for update {update_id} of user {user_id}")]
    NoReceipt { user_id: i64, update_id: i64 },
    /// Another delivery of the same update holds the right to finish it; try again later.
    #[error("update {update_id} is being finished by another delivery")]
    InProgress { update_id: i64 },
}

impl From<ArchiverError> for HandleError {
    fn from(error: ArchiverError) -> HandleError {
        match error {
            ArchiverError::Store(e) => HandleError::Store(e),
            ArchiverError::Archive(e) => HandleError::Archive(e),
        }
    }
}

impl HandleError {
    /// Whether handling the same update again may succeed (a queue should redeliver it). Each
    /// port says so of its own errors; a queue decides from this, never by default.
    pub fn is_retryable(&self) -> bool {
        match self {
            HandleError::Malformed(_) | HandleError::MalformedEvent(_) => false,
            HandleError::Store(error) => error.is_transient(),
            HandleError::Telegram(error) => error.is_transient(),
            HandleError::Archive(error) => error.is_transient(),
            HandleError::Bus(error) => error.is_transient(),
            HandleError::Adopt(error) => error.is_transient(),
            HandleError::Contention { .. }
            | HandleError::NoReceipt { .. }
            | HandleError::InProgress { .. } => true,
        }
    }
}

impl HandleError {
    /// Whether the event store or the archive store itself failed (throttling, an outage, a full
    /// disk): every update would meet it, so the caller should pause, not just retry this one.
    pub fn is_storage_trouble(&self) -> bool {
        matches!(
            self,
            HandleError::Store(StoreError::Backend(_))
                | HandleError::Archive(_)
                | HandleError::Adopt(
                    AdoptError::Store(StoreError::Backend(_)) | AdoptError::Archive(_)
                )
        ) && self.is_retryable()
    }
}
