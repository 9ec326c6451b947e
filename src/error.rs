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

/// Seconds a sender is asked to wait (`Retry-After`) when a server this node depends on is down.
pub const RETRY_AFTER_SECS: u32 = 60;

/// A JSON error body `{"error": message, "status": code}` with the status of the error kind;
/// server errors are logged. A bad signature also carries `Accept-Signature`, a remote server
/// that is down `Retry-After`. Handlers can return `Result<_, Error>` directly.
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
            Error::RemoteUnavailable(_) => Some(("retry-after", RETRY_AFTER_SECS.to_string())),
            _ => None,
        };
        if let Some((name, value)) = extra {
            if let Ok(v) = http::HeaderValue::from_str(&value) {
                resp.headers_mut().insert(name, v);
            }
        }
        resp
    }
}
