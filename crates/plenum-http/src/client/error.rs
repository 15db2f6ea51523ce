//! The client API's envelopes: `{"status":"success","result":…}` for answers and
//! `{"status":"failed","result":"<reason>"}` with its status code for refusals and
//! errors. The reason strings are read by clients (some map them to #pex codes), so
//! they are exact.

use std::borrow::Cow;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use plenum_core::Refusal;
use serde::Serialize;
use tracing::warn;

use super::backend::InvalidToken;
use crate::error::AuthFailure;

/// The reason of an unknown endpoint (the SDK maps it to #pex157).
pub(crate) const NOT_FOUND: &str = "404 Not Found";
/// The reason of a refused, expired or foreign token (#pex113).
pub(crate) const INVALID_TOKEN: &str = "Invalid token";
/// The reason when a caller is over its request budget (#pex191).
pub(crate) const RESOURCE_UNAVAILABLE: &str = "Resource unavailable";

/// `{"status": "success"|"failed", "result": …}`.
#[derive(Debug, Serialize)]
pub(crate) struct Envelope<T> {
    status: &'static str,
    result: T,
}

/// 200 `{"status":"success","result": result}`.
pub(crate) fn success<T: Serialize>(result: T) -> Response {
    success_with(StatusCode::OK, result)
}

/// `{"status":"success","result": result}` with another status (the 403 prompts of
/// `request_token`).
pub(crate) fn success_with<T: Serialize>(status: StatusCode, result: T) -> Response {
    (
        status,
        Json(Envelope {
            status: "success",
            result,
        }),
    )
        .into_response()
}

/// An answer that is not a success, as `{"status":"failed","result":"<reason>"}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ClientError {
    /// The token is missing, unknown, expired, released or for another conference
    /// (403; never 401: the SDK treats 401 as an unexpected status).
    #[error("{INVALID_TOKEN}")]
    InvalidToken,
    /// The conference refused the command (403 with the refusal's text).
    #[error("{0}")]
    Refused(Refusal),
    /// Refused for another reason (403).
    #[error("{0}")]
    Forbidden(Cow<'static, str>),
    /// The request body or a parameter is malformed (400).
    #[error("{0}")]
    BadRequest(Cow<'static, str>),
    /// Nothing answers here (404).
    #[error("{0}")]
    NotFound(Cow<'static, str>),
    /// The request method is not served at this path (405).
    #[error("Method Not Allowed")]
    MethodNotAllowed,
    /// The request body is over [`crate::BODY_LIMIT`] (413).
    #[error("The request body is too large: at most {} bytes", crate::BODY_LIMIT)]
    PayloadTooLarge,
    /// `request_token` without a JSON body (415).
    #[error("{0}")]
    UnsupportedMediaType(Cow<'static, str>),
    /// Registration credentials that are not accepted (401): one answer for an unknown
    /// alias, user name or password.
    #[error("{0}")]
    Unauthorized(Cow<'static, str>),
    /// Too many failed attempts: try again after this many seconds (429 with
    /// `Retry-After`).
    #[error("Too many failed sign-in attempts; try again in {0} seconds")]
    TooManyAttempts(u64),
    /// The node can't take the request now (503).
    #[error("{0}")]
    Unavailable(Cow<'static, str>),
    /// A bug or a misconfiguration (500); the detail is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ClientError {
    fn status(&self) -> StatusCode {
        match self {
            ClientError::InvalidToken | ClientError::Refused(_) | ClientError::Forbidden(_) => {
                StatusCode::FORBIDDEN
            }
            ClientError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ClientError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ClientError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            ClientError::NotFound(_) => StatusCode::NOT_FOUND,
            ClientError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ClientError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ClientError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ClientError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ClientError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<InvalidToken> for ClientError {
    fn from(_: InvalidToken) -> ClientError {
        ClientError::InvalidToken
    }
}

impl From<Refusal> for ClientError {
    fn from(refusal: Refusal) -> ClientError {
        ClientError::Refused(refusal)
    }
}

impl IntoResponse for ClientError {
    fn into_response(self) -> Response {
        let reason = match &self {
            ClientError::Internal(detail) => {
                warn!(%detail, "client api internal error");
                "Internal error".to_owned()
            }
            other => other.to_string(),
        };
        let retry_after = match self {
            ClientError::TooManyAttempts(secs) => Some(secs),
            _ => None,
        };
        let failure = match self {
            ClientError::InvalidToken => Some(AuthFailure::InvalidToken),
            // The only 401 of the client API: registration credentials.
            ClientError::Unauthorized(_) => Some(AuthFailure::DeviceCredentials),
            _ => None,
        };
        let mut response = (
            self.status(),
            Json(Envelope {
                status: "failed",
                result: reason,
            }),
        )
            .into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        if let Some(failure) = failure {
            response.extensions_mut().insert(failure);
        }
        response
    }
}
