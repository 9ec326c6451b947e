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
            Error::Unauthorized(_) => S::UNAUTHORIZED,
            Error::Forbidden(_) => S::FORBIDDEN,
            Error::Conflict(_) => S::CONFLICT,
            Error::Unsupported(_) => S::UNPROCESSABLE_ENTITY,
            Error::TooManyRequests(_) => S::TOO_MANY_REQUESTS,
            Error::TooLarge(_) => S::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType(_) => S::UNSUPPORTED_MEDIA_TYPE,
            Error::Unavailable(_) => S::SERVICE_UNAVAILABLE,
            Error::Remote(_) => S::BAD_GATEWAY,
            Error::Database(diesel::result::Error::NotFound) => S::NOT_FOUND,
            // A unique key hit by a concurrent request (two deliveries of the same object at
            // once): nothing was written; the sender's retry finds the row and succeeds.
            Error::Database(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ClosedConnection
                | diesel::result::DatabaseErrorKind::UniqueViolation
                | diesel::result::DatabaseErrorKind::SerializationFailure,
                _,
            )) => S::SERVICE_UNAVAILABLE,
            Error::Database(_) | Error::Internal(_) => S::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A JSON error body `{"error": message, "status": code}` with the status of the error kind;
/// server errors are logged. Handlers can return `Result<_, Error>` directly.
impl axum::response::IntoResponse for Error {
    fn into_response(self) -> axum::response::Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        (
            status,
            axum::Json(serde_json::json!({ "error": self.to_string(), "status": status.as_u16() })),
        )
            .into_response()
    }
}
