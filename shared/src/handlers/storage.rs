//! The storage ports a role is built from. One store (DynamoDB, SQLite, or the test kit's
//! memory) usually stands behind all but the archives.

use std::sync::Arc;

use crate::archive::ArchiveStore;
use crate::store::{EventStore, OriginalSessions, Quotas, Receipts, SessionRows};

#[derive(Clone)]
pub struct StoragePorts {
    pub events: Arc<dyn EventStore>,
    pub receipts: Arc<dyn Receipts>,
    pub rows: Arc<dyn SessionRows>,
    pub quotas: Arc<dyn Quotas>,
    pub originals: Arc<dyn OriginalSessions>,
    pub archives: Arc<dyn ArchiveStore>,
}

impl StoragePorts {
    /// Every store port from `store`, and the archives from `archives`.
    pub fn of<S>(store: Arc<S>, archives: Arc<dyn ArchiveStore>) -> StoragePorts
    where
        S: EventStore + Receipts + SessionRows + Quotas + OriginalSessions + 'static,
    {
        StoragePorts {
            events: store.clone(),
            receipts: store.clone(),
            rows: store.clone(),
            quotas: store.clone(),
            originals: store,
            archives,
        }
    }
}
