//! `cloud-ai adopt`: takes over every user the original bot left something of (session items in
//! the table, archives in the bucket), on the configured storage, with the same adopter the
//! command role runs before a user's first decision. Safe to run twice, or while a bot runs:
//! each user's adoption is version-guarded, and a user already adopted is left as they are.

use std::path::Path;
use std::sync::Arc;

use crate::archive::fs::FsArchiveStore;
use crate::handlers::{AdoptError, Adopter, Adoption, Tally};
use crate::sqlite::Database;
use crate::store::sqlite::SqliteStore;

use super::config::{EmbeddedConfig, Storage};
use super::start::{DATABASE_FILE, StartError};

/// What a whole run found and wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AdoptSummary {
    pub users: u64,
    pub adopted: u64,
    /// Users whose stream is their own (already adopted, or users of cloud-ai first).
    pub own_stream: u64,
    pub found: Tally,
    pub written: Tally,
    pub events: u64,
    pub appends: u64,
}

impl AdoptSummary {
    fn add(&mut self, adoption: &Adoption) {
        self.users += 1;
        self.adopted += u64::from(adoption.appends > 0);
        self.own_stream += u64::from(adoption.own_stream);
        self.found.add(adoption.found);
        self.written.add(adoption.written);
        self.events += adoption.events;
        self.appends += adoption.appends;
    }
}

/// The adopter on the storage `embedded.storage` names (`table` and `bucket` for `aws`).
pub async fn adopter(
    embedded: &EmbeddedConfig,
    table: &str,
    bucket: &str,
) -> Result<Adopter, StartError> {
    Ok(match embedded.storage {
        Storage::Embedded => {
            let store = Arc::new(SqliteStore::new(Database::open(
                &embedded.data_dir.join(DATABASE_FILE),
            )?));
            let archives = Arc::new(FsArchiveStore::new(Path::new(&embedded.data_dir)));
            Adopter::new(store.clone(), store, archives)
        }
        #[cfg(not(feature = "aws"))]
        Storage::Aws => {
            return Err(StartError::NoAwsStorage {
                table: table.to_string(),
                bucket: bucket.to_string(),
            });
        }
        #[cfg(feature = "aws")]
        Storage::Aws => {
            let sdk = crate::aws::load_config().await;
            let store = Arc::new(crate::aws::dynamodb_store(&sdk, table));
            Adopter::new(
                store.clone(),
                store,
                Arc::new(crate::aws::s3_archive_store(&sdk, bucket)),
            )
        }
    })
}

/// Adopts every candidate user, telling `progress` about each (user id, what it did, the
/// running summary).
pub async fn adopt_all(
    adopter: &Adopter,
    mut progress: impl FnMut(i64, &Adoption, &AdoptSummary),
) -> Result<AdoptSummary, AdoptError> {
    let mut summary = AdoptSummary::default();
    for user_id in adopter.candidates().await? {
        let adoption = adopter.adopt(user_id, 0).await?;
        summary.add(&adoption);
        progress(user_id, &adoption, &summary);
    }
    Ok(summary)
}
