//! `ApiError`: every error response of the API, with a stable code and message; 5xx
//! bodies are generic and their cause is logged once, in the request span.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tracing::warn;

use crate::backend::BackendError;

/// The `WWW-Authenticate` challenge of the admin API.
pub(crate) const BASIC_CHALLENGE: &str = "Basic realm=\"plenum admin\", charset=\"UTF-8\"";

/// An error answer of the API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No credentials (401 with a Basic challenge).
    #[error("authentication required")]
    Unauthorized,
    /// Wrong credentials (401 with a Basic challenge; counted as a failed login).
    #[error("authentication required")]
    LoginFailed,
    /// Too many failed logins from this address or for this user name: try again after
    /// this many seconds (429 with `Retry-After`).
    #[error("too many failed logins; try again in {0} seconds")]
    TooManyAttempts(u64),
    /// The request body is over [`crate::BODY_LIMIT`] (413).
    #[error("the request body is too large: at most {} bytes", crate::BODY_LIMIT)]
    PayloadTooLarge,
    /// A query parameter is malformed or out of range (400).
    #[error("{0}")]
    InvalidParameter(String),
    /// The addressed resource does not exist (404); the text names what was looked for.
    #[error("{0}")]
    NotFound(&'static str),
    /// The backend cannot answer right now (503).
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected failure (500).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// Maps a backend error, naming what was not found.
    pub(crate) fn from_backend(error: BackendError, what: &'static str) -> ApiError {
        match error {
            BackendError::NotFound => ApiError::NotFound(what),
            BackendError::Unavailable(detail) => ApiError::Unavailable(detail),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized | ApiError::LoginFailed => StatusCode::UNAUTHORIZED,
            ApiError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::InvalidParameter(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized | ApiError::LoginFailed => "unauthorized",
            ApiError::TooManyAttempts(_) => "too_many_attempts",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::InvalidParameter(_) => "invalid_parameter",
            ApiError::NotFound(_) => "not_found",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }
}

/// The JSON body of every error: `{"status":"error","code":…,"message":…}`.
#[derive(Serialize)]
struct ErrorBody<'a> {
    status: &'static str,
    code: &'static str,
    message: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = match &self {
            ApiError::Unavailable(detail) => {
                warn!(%detail, "backend unavailable");
                "service temporarily unavailable".to_owned()
            }
            ApiError::Internal(detail) => {
                warn!(%detail, "internal error");
                "internal server error".to_owned()
            }
            other => other.to_string(),
        };
        let body = ErrorBody {
            status: "error",
            code: self.code(),
            message: &message,
        };
        let mut response = (self.status(), Json(body)).into_response();
        if let ApiError::TooManyAttempts(secs) = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if matches!(self, ApiError::LoginFailed) {
            response.extensions_mut().insert(AuthFailure::AdminLogin);
        }
        if matches!(self, ApiError::Unauthorized | ApiError::LoginFailed) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(BASIC_CHALLENGE),
            );
        }
        response
    }
}

/// A failed sign-in of some kind, left on the response for the request counter
/// ([`crate::metrics`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    /// A client API call with a token that is unknown, expired or for something else.
    InvalidToken,
    /// A wrong conference PIN (or too many of them).
    Pin,
    /// Wrong device registration credentials (or sign-in).
    DeviceCredentials,
    /// A wrong admin user name or password.
    AdminLogin,
}

impl AuthFailure {
    pub(crate) fn label(self) -> &'static str {
        match self {
            AuthFailure::InvalidToken => "invalid_token",
            AuthFailure::Pin => "pin",
            AuthFailure::DeviceCredentials => "device_credentials",
            AuthFailure::AdminLogin => "admin_login",
        }
    }
}
