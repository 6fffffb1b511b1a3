//! Turning a document a user sent into an import: fetch it within the size cap, validate it, and
//! store it under the sender's prefix with a session id derived from the update (so re-handling
//! the same update writes the same object, never a second one).

use crate::archive::ArchiveStore;
use crate::domain::archive_doc::{ImportError, MAX_IMPORT_BYTES, may_be_archive, validate_import};
use crate::domain::decide::{ImportOutcome, StoredImport, import_refusal};
use crate::domain::keys::{archive_key, derived_session_id};
use crate::domain::state::UserState;
use crate::domain::time::rfc3339;
use crate::domain::update::{DocumentRef, Incoming};
use crate::telegram::{Telegram, TelegramError};

use super::error::HandleError;

fn too_large() -> ImportOutcome {
    ImportOutcome::Rejected(ImportError::TooLarge {
        limit_mib: MAX_IMPORT_BYTES / (1024 * 1024),
    })
}

/// A transient failure is retried by redelivery; a permanent one is the user's answer.
fn refused_download(error: TelegramError) -> Result<ImportOutcome, HandleError> {
    if error.is_transient() {
        return Err(error.into());
    }
    let reason = match error {
        TelegramError::Api { description, .. } => description,
        other => other.to_string(),
    };
    Ok(ImportOutcome::Rejected(ImportError::NotFetched(reason)))
}

pub(super) async fn import_document(
    telegram: &dyn Telegram,
    archives: &dyn ArchiveStore,
    state: &UserState,
    owner: i64,
    incoming: &Incoming,
    document: &DocumentRef,
    default_model: &str,
) -> Result<ImportOutcome, HandleError> {
    if let Some(refusal) = import_refusal(state) {
        return Ok(ImportOutcome::Rejected(refusal));
    }
    if !may_be_archive(document.file_name.as_deref(), document.mime_type.as_deref()) {
        return Ok(ImportOutcome::Rejected(ImportError::NotAnArchiveFile));
    }
    if document
        .file_size
        .is_some_and(|size| size > MAX_IMPORT_BYTES as u64)
    {
        return Ok(too_large());
    }
    let bytes = match telegram
        .fetch_file(&document.file_id, MAX_IMPORT_BYTES as u64)
        .await
    {
        Ok(bytes) => bytes,
        Err(TelegramError::FileTooLarge { .. }) => return Ok(too_large()),
        Err(error) => return refused_download(error),
    };
    let imported_at = rfc3339(incoming.date);
    let valid = match validate_import(&bytes, default_model, &imported_at) {
        Ok(valid) => valid,
        Err(reason) => return Ok(ImportOutcome::Rejected(reason)),
    };
    let session_id = derived_session_id(owner, incoming.update_id, "import");
    let s3_key = archive_key(owner, session_id);
    let stored = StoredImport {
        session_id,
        model_name: valid.model_name.clone(),
        message_count: valid.conversation.len() as u64,
        last_message_ts: valid.last_message_ts(),
        s3_key: s3_key.clone(),
        imported_at,
        title: valid.title.clone(),
    };
    let document = valid.into_document(owner, session_id);
    let body = serde_json::to_vec_pretty(&document).expect("archives serialise to JSON");
    archives.put(&s3_key, body).await?;
    Ok(ImportOutcome::Stored(stored))
}
