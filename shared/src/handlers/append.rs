//! Appending to a stream under optimistic concurrency: when another writer got there first, the
//! caller loads the fresh state and decides again, a bounded number of times.

use crate::store::StoreError;

use super::error::HandleError;

/// How many times a decision is retried after losing a race for the stream.
pub(super) const MAX_CONFLICT_RETRIES: usize = 8;

/// Runs `attempt` (load, decide, append) until it does not lose a race for `user_id`'s stream;
/// after [`MAX_CONFLICT_RETRIES`] losses, gives up with `Contention`.
pub(super) async fn with_conflict_retry<T, F, Attempt>(
    user_id: i64,
    mut attempt: F,
) -> Result<T, HandleError>
where
    F: FnMut() -> Attempt,
    Attempt: Future<Output = Result<T, HandleError>>,
{
    for _ in 0..MAX_CONFLICT_RETRIES {
        match attempt().await {
            Err(HandleError::Store(StoreError::VersionConflict { .. })) => {
                tracing::info!(user_id, "lost a race for the stream; deciding again");
            }
            other => return other,
        }
    }
    Err(HandleError::Contention {
        user_id,
        tries: MAX_CONFLICT_RETRIES,
    })
}
