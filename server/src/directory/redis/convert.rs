//! What crosses between Redis and the directory's types: a `redis` error as a
//! [`DirectoryError`] (retry later, or refused), and the MessagePack values the directory stores.

use redis::{RedisError, RetryMethod};
use serde::de::DeserializeOwned;

use super::super::{BoxError, DirectoryError};

/// Connection trouble is [`DirectoryError::Unavailable`] (retry later); anything the server
/// refused is [`DirectoryError::Backend`].
pub(super) fn classify(e: RedisError) -> DirectoryError {
    let transient = e.is_io_error()
        || matches!(
            e.retry_method(),
            // Loading its data set, or a replica promoted: Redis will be back.
            RetryMethod::WaitAndRetry | RetryMethod::RefreshSlotsAndRetry
        );
    if transient {
        DirectoryError::Unavailable(e.into())
    } else {
        DirectoryError::Backend(e.into())
    }
}

pub(super) fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, DirectoryError> {
    rmp_serde::to_vec_named(value).map_err(|e| DirectoryError::Backend(BoxError::from(e)))
}

pub(super) fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, DirectoryError> {
    rmp_serde::from_slice(bytes).map_err(|e| corrupt(what.to_owned(), &e.to_string()))
}

pub(super) fn corrupt(key: String, reason: &str) -> DirectoryError {
    DirectoryError::Corrupt {
        key,
        reason: reason.to_owned(),
    }
}
