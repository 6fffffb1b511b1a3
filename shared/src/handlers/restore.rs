//! `/restore <n>`: the archive is read before the decision (which needs to know it can be
//! restored), and again by the receipt's restore step, which appends its messages.

use crate::archive::ArchiveStore;
use crate::domain::archive_doc::read_archive;
use crate::domain::decide::RestoreRead;
use crate::domain::restore::RestorableArchive;
use crate::domain::state::UserState;

use super::error::HandleError;

/// Stands in for a model name the archive lacks; restoring takes the archive summary's name.
const ANY_MODEL: &str = "unknown";

/// What archive `number` holds for a restore (not read when `may_read` is false: the decision
/// refuses it).
pub(super) async fn read_for_restore(
    archives: &dyn ArchiveStore,
    state: &UserState,
    number: usize,
    may_read: bool,
) -> Result<RestoreRead, HandleError> {
    let Some(archive) = state.archive_numbered(number) else {
        return Ok(RestoreRead::NotRead);
    };
    if !may_read {
        return Ok(RestoreRead::NotRead);
    }
    Ok(match restorable(archives, &archive.s3_key).await? {
        Ok(read) => RestoreRead::Readable {
            messages: read.messages.len() as u64,
            persona: read.persona.is_some(),
        },
        Err(reason) => RestoreRead::Unreadable(reason),
    })
}

/// The archive at `s3_key` as a session takes it back, or why it cannot be.
pub(super) async fn restorable(
    archives: &dyn ArchiveStore,
    s3_key: &str,
) -> Result<Result<RestorableArchive, String>, HandleError> {
    let Some(bytes) = archives.get(s3_key).await? else {
        tracing::warn!(
            s3_key,
            "an archive to restore is missing from the archive store"
        );
        return Ok(Err("its file is missing from the archive store".to_string()));
    };
    Ok(read_archive(&bytes, ANY_MODEL, "")
        .map_err(|e| e.to_string())
        .and_then(RestorableArchive::from_archive))
}
