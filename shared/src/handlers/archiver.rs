//! Archiving a session: write the archive object, then delete the live rows. Safe to re-run
//! after a crash at any step: rows are deleted only once the object exists, and an existing
//! object is never rewritten from rows that may already be half deleted.

use std::sync::Arc;

use crate::archive::{ArchiveError, ArchiveStore};
use crate::domain::archive_doc::{ARCHIVE_VERSION, ArchiveDocument};
use crate::domain::archive_job::ArchiveJob;
use crate::domain::events::{ChatMessage, Role};
use crate::store::{SessionRows, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ArchiverError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

#[derive(Clone)]
pub struct Archiver {
    rows: Arc<dyn SessionRows>,
    archives: Arc<dyn ArchiveStore>,
}

/// What a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveRun {
    /// The object was written now.
    Written { messages: usize },
    /// The object was there already (an earlier run got that far).
    AlreadyWritten,
}

impl Archiver {
    pub fn new(rows: Arc<dyn SessionRows>, archives: Arc<dyn ArchiveStore>) -> Archiver {
        Archiver { rows, archives }
    }

    pub async fn run(&self, job: &ArchiveJob) -> Result<ArchiveRun, ArchiverError> {
        let outcome = if self.archives.exists(&job.s3_key).await? {
            ArchiveRun::AlreadyWritten
        } else {
            let mut conversation = self.rows.all_messages(job.user_id, job.session_id).await?;
            // The persona travels as the leading `system` message the original's format has.
            if let Some(prompt) = job.persona.prompt(None) {
                let ts = conversation.first().map_or(job.last_message_ts, |m| m.ts);
                conversation.insert(0, ChatMessage::new(Role::System, prompt, ts));
            }
            let document = ArchiveDocument {
                user_id: job.user_id,
                session_id: job.session_id.to_string(),
                model_name: job.model_name.clone(),
                last_message_ts: job.last_message_ts,
                original_sk: job.session_sort_key(),
                archived_at: job.archived_at.clone(),
                archive_version: ARCHIVE_VERSION.to_string(),
                title: job.title.clone(),
                imported_from: None,
                conversation,
            };
            let body = serde_json::to_vec_pretty(&document).expect("archives serialise to JSON");
            self.archives.put(&job.s3_key, body).await?;
            ArchiveRun::Written {
                messages: document.conversation.len(),
            }
        };
        self.rows
            .delete_session(job.user_id, &job.session_sort_key(), job.session_id)
            .await?;
        tracing::info!(user_id = job.user_id, session_id = %job.session_id, key = %job.s3_key, ?outcome, "session archived");
        Ok(outcome)
    }
}
