//! The archive store in memory, for tests (feature `testing`), with injected [`Faults`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{ArchiveError, ArchiveStore};
use crate::testing::faults::Faults;

pub struct MemoryArchives {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
    faults: Arc<Faults>,
}

impl MemoryArchives {
    pub fn new(faults: Arc<Faults>) -> MemoryArchives {
        MemoryArchives {
            objects: Mutex::new(BTreeMap::new()),
            faults,
        }
    }

    /// Every key stored, in order.
    pub fn keys(&self) -> Vec<String> {
        self.objects.lock().unwrap().keys().cloned().collect()
    }
}

#[async_trait]
impl ArchiveStore for MemoryArchives {
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), ArchiveError> {
        let step = self.faults.enter("archive put");
        step.before()?;
        self.objects.lock().unwrap().insert(key.to_string(), body);
        step.after(Ok(()))
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ArchiveError> {
        let step = self.faults.enter("archive get");
        step.before()?;
        let body = self.objects.lock().unwrap().get(key).cloned();
        step.after(Ok(body))
    }

    async fn exists(&self, key: &str) -> Result<bool, ArchiveError> {
        let step = self.faults.enter("archive exists");
        step.before()?;
        let found = self.objects.lock().unwrap().contains_key(key);
        step.after(Ok(found))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, ArchiveError> {
        let step = self.faults.enter("archive list");
        step.before()?;
        let keys = self
            .objects
            .lock()
            .unwrap()
            .range(prefix.to_string()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(key, _)| key.clone())
            .collect();
        step.after(Ok(keys))
    }
}
