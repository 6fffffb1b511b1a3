//! A backend's failure (DynamoDB, S3, SQS, EventBridge, SQLite, the file system), tagged where it
//! is made as transient or permanent, with its cause kept as the error's `source()`. The queues
//! decide from the tag whether to try again; nothing is retried by default.

use std::error::Error;

#[cfg(feature = "aws")]
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Whether the same call may succeed when tried again later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Throttling, an outage, a timeout, a full disk: it may pass.
    Transient,
    /// The request itself is wrong (too large, invalid): trying again cannot help.
    Permanent,
}

#[derive(Debug, thiserror::Error)]
#[error("{operation}: {detail}")]
pub struct BackendError {
    pub operation: String,
    pub retry: Retry,
    /// The cause as text (for AWS errors, with the service's code and message).
    detail: String,
    #[source]
    source: Box<dyn Error + Send + Sync + 'static>,
}

impl BackendError {
    pub fn new(
        operation: impl Into<String>,
        retry: Retry,
        source: impl Error + Send + Sync + 'static,
    ) -> BackendError {
        BackendError {
            operation: operation.into(),
            retry,
            detail: source.to_string(),
            source: Box::new(source),
        }
    }

    /// A failure with no underlying error (a limit reached, an unexpected answer).
    pub fn message(operation: impl Into<String>, retry: Retry, text: impl Into<String>) -> Self {
        #[derive(Debug, thiserror::Error)]
        #[error("{0}")]
        struct Message(String);
        BackendError::new(operation, retry, Message(text.into()))
    }

    /// A file system failure: bad input is permanent, everything else (a full disk, an I/O error,
    /// permissions an operator can fix) is transient.
    pub fn io(operation: impl Into<String>, error: std::io::Error) -> BackendError {
        let retry = match error.kind() {
            std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => Retry::Permanent,
            _ => Retry::Transient,
        };
        BackendError::new(operation, retry, error)
    }

    pub fn is_transient(&self) -> bool {
        self.retry == Retry::Transient
    }
}

#[cfg(feature = "aws")]
/// Error codes of AWS services that mean the request can never succeed as it is.
const PERMANENT_CODES: &[&str] = &[
    "ValidationException",
    "SerializationException",
    "InvalidParameterValue",
    "InvalidParameterCombination",
    "MissingParameter",
    "InvalidArgument",
    "EntityTooLarge",
    "InvalidMessageContents",
];

#[cfg(feature = "aws")]
impl BackendError {
    /// An AWS SDK call's failure: the service's refusal of an invalid request is permanent;
    /// throttling, server errors, timeouts and connection failures are transient.
    pub fn sdk<E, R>(operation: impl Into<String>, error: SdkError<E, R>) -> BackendError
    where
        E: ProvideErrorMetadata + Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let retry = match &error {
            SdkError::ServiceError(context)
                if context
                    .err()
                    .code()
                    .is_some_and(|code| PERMANENT_CODES.contains(&code)) =>
            {
                Retry::Permanent
            }
            // The SDK could not even build the request: a bug, not an outage.
            SdkError::ConstructionFailure(_) => Retry::Permanent,
            _ => Retry::Transient,
        };
        BackendError {
            operation: operation.into(),
            retry,
            detail: DisplayErrorContext(&error).to_string(),
            source: Box::new(error),
        }
    }
}

#[cfg(feature = "embedded")]
impl BackendError {
    /// An SQLite failure: a damaged file or data it cannot convert is permanent; a full disk,
    /// a busy or locked database and I/O errors are transient.
    pub fn sqlite(operation: impl Into<String>, error: rusqlite::Error) -> BackendError {
        use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
        let retry = match &error {
            rusqlite::Error::SqliteFailure(failure, _)
                if matches!(failure.code, DatabaseCorrupt | NotADatabase) =>
            {
                Retry::Permanent
            }
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::ToSqlConversionFailure(_)
            | rusqlite::Error::InvalidColumnType(..) => Retry::Permanent,
            _ => Retry::Transient,
        };
        BackendError::new(operation, retry, error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cause_is_kept_and_shown() {
        let io = std::io::Error::new(std::io::ErrorKind::StorageFull, "No space left on device");
        let error = BackendError::io("write archives/1/a.json", io);
        assert!(error.is_transient());
        assert_eq!(
            error.to_string(),
            "write archives/1/a.json: No space left on device"
        );
        let source = error.source().expect("the cause is kept");
        assert!(source.downcast_ref::<std::io::Error>().is_some());
        let bad = BackendError::io("read", std::io::ErrorKind::InvalidData.into());
        assert!(!bad.is_transient());
    }

    #[cfg(feature = "aws")]
    fn dynamodb_refusal(status: u16, code: &str) -> BackendError {
        use aws_sdk_dynamodb::config::http::HttpResponse;
        use aws_sdk_dynamodb::error::ErrorMetadata;
        use aws_sdk_dynamodb::operation::get_item::GetItemError;
        let error = GetItemError::generic(ErrorMetadata::builder().code(code).build());
        let raw = HttpResponse::new(
            status.try_into().unwrap(),
            aws_sdk_s3::primitives::ByteStream::from_static(b"").into_inner(),
        );
        BackendError::sdk("GetItem", SdkError::service_error(error, raw))
    }

    #[cfg(feature = "aws")]
    #[test]
    fn throttling_is_transient_and_an_invalid_request_is_permanent() {
        let throttled = dynamodb_refusal(400, "ProvisionedThroughputExceededException");
        assert!(throttled.is_transient());
        assert!(
            throttled
                .to_string()
                .contains("ProvisionedThroughputExceededException")
        );
        assert!(throttled.source().is_some());
        assert!(dynamodb_refusal(500, "InternalServerError").is_transient());
        assert!(!dynamodb_refusal(400, "ValidationException").is_transient());
    }

    #[cfg(feature = "embedded")]
    #[test]
    fn a_full_disk_is_transient_and_a_damaged_file_is_not() {
        let failure = |code| {
            rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), Some("x".into()))
        };
        assert!(BackendError::sqlite("insert", failure(rusqlite::ffi::SQLITE_FULL)).is_transient());
        assert!(
            !BackendError::sqlite("read", failure(rusqlite::ffi::SQLITE_CORRUPT)).is_transient()
        );
    }
}
