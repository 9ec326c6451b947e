//! The library's error type, and its one mapping to an HTTP response: every HTTP edge (the
//! REST API, federation routes, inboxes, pages) answers an error as the JSON body
//! `{"error": message, "status": code}` with the status of the error kind, and logs 5xx.

use thiserror::Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Error)]
pub enum Error {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    /// A request signature that is missing, malformed, stale or does not verify: 401, with an
    /// `Accept-Signature` header (RFC 9421 §5.1) naming the signature this node asks for, so
    /// that a double-knocking sender retries with the other scheme.
    #[error("{message}")]
    BadSignature {
        message: String,
        accept_signature: String,
    },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    /// Understood but not acted on: an activity type or object this node does not handle.
    #[error("{0}")]
    Unsupported(String),
    /// Refused for now: too many attempts (failed sign-ins); the message says when to retry.
    #[error("{0}")]
    TooManyRequests(String),
    #[error("request body too large: {0}")]
    TooLarge(String),
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("remote server error: {0}")]
    Remote(String),
    /// Another server this request depends on cannot be reached right now (e.g. the signer's
    /// key server is down): 503 with `Retry-After`, so that the sender retries later.
    #[error("{0}")]
    RemoteUnavailable(String),
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn not_found(what: impl std::fmt::Display) -> Error {
        Error::NotFound(format!("{what} not found"))
    }

    pub fn bad_request(msg: impl Into<String>) -> Error {
        Error::BadRequest(msg.into())
    }

    /// HTTP status for this error.
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            Error::NotFound(_) => S::NOT_FOUND,
            Error::BadRequest(_) => S::BAD_REQUEST,
            Error::Unauthorized(_) | Error::BadSignature { .. } => S::UNAUTHORIZED,
            Error::Forbidden(_) => S::FORBIDDEN,
            Error::Conflict(_) => S::CONFLICT,
            Error::Unsupported(_) => S::UNPROCESSABLE_ENTITY,
            Error::TooManyRequests(_) => S::TOO_MANY_REQUESTS,
            Error::TooLarge(_) => S::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType(_) => S::UNSUPPORTED_MEDIA_TYPE,
            Error::Unavailable(_) | Error::RemoteUnavailable(_) => S::SERVICE_UNAVAILABLE,
            Error::Remote(_) => S::BAD_GATEWAY,
            Error::Database(diesel::result::Error::NotFound) => S::NOT_FOUND,
            // The connection closed or a concurrent request got in the way: nothing was
            // written, and the sender's retry succeeds (or finds the row the other one wrote).
            Error::Database(e) if is_transient(e) => S::SERVICE_UNAVAILABLE,
            Error::Database(_) | Error::Internal(_) => S::INTERNAL_SERVER_ERROR,
        }
    }

    /// Seconds the sender is asked to wait before retrying (`Retry-After`), for the errors
    /// that a retry can cure: a server this node depends on is down, the database is
    /// unreachable, or a concurrent request got in the way.
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            Error::RemoteUnavailable(_) => Some(RETRY_AFTER_SECS),
            Error::Unavailable(_) => Some(DATABASE_RETRY_AFTER_SECS),
            Error::Database(e) if is_transient(e) => Some(CONFLICT_RETRY_AFTER_SECS),
            _ => None,
        }
    }
}

/// Whether a database error is one a retry of the same request cures: the connection
/// closed under it, or a concurrent transaction won (a unique key taken meanwhile, a
/// serialization failure, or a deadlock, which PostgreSQL breaks by failing one of the two),
/// or SQLite's file stayed locked by another connection for longer than it waits.
fn is_transient(e: &diesel::result::Error) -> bool {
    use diesel::result::DatabaseErrorKind as K;
    match e {
        diesel::result::Error::DatabaseError(
            K::ClosedConnection | K::UniqueViolation | K::SerializationFailure,
            _,
        ) => true,
        // diesel has no kind for SQLSTATE 40P01; PostgreSQL's message for it is this (the
        // server's messages are English unless `lc_messages` says otherwise).
        // SQLite's message for SQLITE_BUSY is always this one (it is not translated).
        diesel::result::Error::DatabaseError(K::Unknown, info) => {
            info.message().starts_with("deadlock detected")
                || info.message() == "database is locked"
        }
        _ => false,
    }
}

/// Seconds a sender is asked to wait (`Retry-After`) when a server this node depends on is down.
pub const RETRY_AFTER_SECS: u32 = 60;

/// Seconds a client is asked to wait (`Retry-After`) while this node's database is unreachable.
pub const DATABASE_RETRY_AFTER_SECS: u32 = 10;

/// Seconds a client is asked to wait (`Retry-After`) after a concurrent request got in the way.
pub const CONFLICT_RETRY_AFTER_SECS: u32 = 1;

/// A JSON error body `{"error": message, "status": code}` with the status of the error kind;
/// server errors are logged. A bad signature also carries `Accept-Signature`, a remote server
/// that is down or a transient database failure `Retry-After` ([`Error::retry_after`]).
/// Handlers can return `Result<_, Error>` directly.
impl axum::response::IntoResponse for Error {
    fn into_response(self) -> axum::response::Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut resp = (
            status,
            axum::Json(serde_json::json!({ "error": self.to_string(), "status": status.as_u16() })),
        )
            .into_response();
        let extra = match &self {
            Error::BadSignature {
                accept_signature, ..
            } => Some(("accept-signature", accept_signature.clone())),
            _ => self
                .retry_after()
                .map(|secs| ("retry-after", secs.to_string())),
        };
        if let Some((name, value)) = extra {
            if let Ok(v) = http::HeaderValue::from_str(&value) {
                resp.headers_mut().insert(name, v);
            }
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind as K, Error as DieselError};
    use http::StatusCode;

    fn database(kind: K, message: &str) -> Error {
        Error::Database(DieselError::DatabaseError(
            kind,
            Box::new(message.to_string()),
        ))
    }

    #[test]
    fn transient_database_errors_ask_for_a_retry_in_a_second() {
        for e in [
            database(K::UniqueViolation, "duplicate key value"),
            database(K::SerializationFailure, "could not serialize access"),
            database(K::ClosedConnection, "server closed the connection"),
            database(K::Unknown, "deadlock detected"),
            database(K::Unknown, "database is locked"),
        ] {
            assert_eq!(e.retry_after(), Some(CONFLICT_RETRY_AFTER_SECS), "{e}");
            assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE, "{e}");
        }
    }

    #[test]
    fn other_database_errors_are_faults_without_a_retry() {
        for e in [
            database(K::Unknown, "no such table: ideas"),
            database(K::ForeignKeyViolation, "FOREIGN KEY constraint failed"),
            database(K::Unknown, "database is locked by a bug"),
        ] {
            assert_eq!(e.retry_after(), None, "{e}");
            assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR, "{e}");
        }
    }
}
