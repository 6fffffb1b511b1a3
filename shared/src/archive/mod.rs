//! The archive store port: JSON archives at `archives/{user_id}/{session_id}.json`.

pub mod fs;
#[cfg(feature = "testing")]
pub mod memory;
#[cfg(feature = "aws")]
pub mod s3;

use async_trait::async_trait;

use crate::error::BackendError;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("the archive store failed: {0}")]
    Backend(#[from] BackendError),
}

impl ArchiveError {
    pub fn is_transient(&self) -> bool {
        match self {
            ArchiveError::Backend(error) => error.is_transient(),
        }
    }
}

#[async_trait]
pub trait ArchiveStore: Send + Sync {
    /// Stores (or replaces) the object at `key` in one step: readers see all of it or none.
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), ArchiveError>;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ArchiveError>;
    async fn exists(&self, key: &str) -> Result<bool, ArchiveError>;
    /// The keys under `prefix`, in key order.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, ArchiveError>;
}
