//! The request body limit of the whole API: a body over [`BODY_LIMIT`] is answered 413
//! in the JSON envelope of the API it was sent to, on HTTP/1.1 and HTTP/2 alike, with or
//! without `Content-Length`. The rest of the body is read and dropped first (up to
//! [`DRAIN_LIMIT`]), so a client still sending it reads the answer instead of a reset
//! stream or connection.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;
use tracing::debug;

use crate::BODY_LIMIT;
use crate::client::error::ClientError;
use crate::error::ApiError;

/// Most bytes read (and dropped) from a body already over the limit before the answer
/// goes out; beyond this the connection may be reset instead.
pub(crate) const DRAIN_LIMIT: u64 = 4 * 1024 * 1024;

/// Middleware: buffers the body up to [`BODY_LIMIT`] and hands it on, or answers 413.
pub(crate) async fn limit_body(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let path = request.uri().path().to_owned();
    let (parts, mut body) = request.into_parts();
    let mut kept: Vec<u8> = Vec::with_capacity(
        usize::try_from(declared.unwrap_or(0))
            .unwrap_or(0)
            .min(BODY_LIMIT),
    );
    let mut seen: u64 = 0;
    let over = declared.is_some_and(|n| n > BODY_LIMIT as u64);
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            // The client went away or broke the body off: the handler could only fail.
            debug!(%path, "request body could not be read");
            return unreadable(&path);
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        seen += data.len() as u64;
        if over || seen > BODY_LIMIT as u64 {
            if seen > DRAIN_LIMIT {
                break;
            }
            kept.clear();
            continue;
        }
        kept.extend_from_slice(&data);
    }
    if over || seen > BODY_LIMIT as u64 {
        debug!(%path, declared, read = seen, "request body over the limit");
        return too_large(&path);
    }
    next.run(Request::from_parts(parts, Body::from(Bytes::from(kept))))
        .await
}

/// The 413 of `path`'s API: the admin API's error object there, the client API's
/// envelope everywhere else.
fn too_large(path: &str) -> Response {
    if path.starts_with("/api/admin/") {
        ApiError::PayloadTooLarge.into_response()
    } else {
        ClientError::PayloadTooLarge.into_response()
    }
}

/// The 400 of `path`'s API for a body that broke off.
fn unreadable(path: &str) -> Response {
    const TEXT: &str = "the request body could not be read";
    if path.starts_with("/api/admin/") {
        ApiError::InvalidParameter(TEXT.to_owned()).into_response()
    } else {
        ClientError::BadRequest(TEXT.into()).into_response()
    }
}
