//! The theme endpoints: `GET …/theme/` answers the room's screens or 204 without a theme;
//! `GET …/theme/{path}` serves the theme folder's images to `<img>` tags, with the token
//! in the query.

use axum::extract::{OriginalUri, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tracing::debug;

use super::error::{ClientError, success};
use super::session::Session;
use super::theme::image_type;
use crate::webapp::branding;
use crate::{ApiError, AppState};

/// `GET …/theme/`: the room's screens, or 204 with an empty body without a theme.
pub(crate) async fn screens(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, ClientError> {
    Ok(match state.client.theme(&session.caller) {
        Some(theme) => success(&theme.screens),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// `GET …/theme/{path}?token=`: an image of the room's theme, or 404 (no theme, not an
/// image, a path that would leave the folder, no such file).
pub(crate) async fn image(
    State(state): State<AppState>,
    session: Session,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ClientError> {
    let not_found = || ClientError::NotFound(super::error::NOT_FOUND.into());
    let theme = state.client.theme(&session.caller).ok_or_else(not_found)?;
    let raw = uri
        .path()
        .split_once("/theme/")
        .map(|(_, rest)| rest)
        .ok_or_else(not_found)?;
    let (Some(relative), Some(content_type)) = (branding::relative_path(raw), image_type(raw))
    else {
        debug!(path = uri.path(), "theme path refused");
        return Err(not_found());
    };
    let body = branding::read_inside(theme.dir(), &relative)
        .await
        .map_err(|e| match e {
            ApiError::Internal(detail) => ClientError::Internal(detail),
            _ => not_found(),
        })?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response())
}
