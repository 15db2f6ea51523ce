//! Who is calling: the token carried in the `token` header or the `?token=` query, the
//! conference alias and participant uuid in the path, and the [`Session`] extractor
//! that resolves them through the backend.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Uri};
use plenum_core::{ParticipantId, Refusal};
use serde::Deserialize;

use super::backend::Caller;
use super::error::{ClientError, NOT_FOUND};
use crate::AppState;

/// Longest token considered; anything longer is not one of ours.
const MAX_TOKEN_LEN: usize = 512;

/// An authenticated request: the participant behind its token, checked against the
/// conference alias in the path.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// The participant the token acts as.
    pub(crate) caller: Caller,
}

impl FromRequestParts<AppState> for Session {
    type Rejection = ClientError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Session, ClientError> {
        let alias = path_param(parts, state, "alias").await?;
        let token = token_of(&parts.headers, &parts.uri).ok_or(ClientError::InvalidToken)?;
        let caller = state.client.authenticate(&alias, &token)?;
        Ok(Session { caller })
    }
}

/// The participant addressed by `participants/{uuid}/…`; a malformed uuid names
/// nobody, hence 403 `participant not found` like an unknown one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target(pub(crate) ParticipantId);

impl FromRequestParts<AppState> for Target {
    type Rejection = ClientError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Target, ClientError> {
        let raw = path_param(parts, state, "uuid").await?;
        uuid::Uuid::parse_str(raw.trim())
            .map(|id| Target(ParticipantId(id)))
            .map_err(|_| ClientError::Refused(Refusal::UnknownParticipant))
    }
}

/// The conference alias of an unauthenticated request (`request_token`,
/// `refresh_token`, `release_token`).
#[derive(Debug, Clone)]
pub(crate) struct Alias(pub(crate) String);

impl FromRequestParts<AppState> for Alias {
    type Rejection = ClientError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Alias, ClientError> {
        path_param(parts, state, "alias").await.map(Alias)
    }
}

/// One percent-decoded path parameter; a path that does not decode (bad UTF-8) leads
/// nowhere.
pub(crate) async fn path_param(
    parts: &mut Parts,
    state: &AppState,
    name: &str,
) -> Result<String, ClientError> {
    let Path(mut params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map_err(|_| ClientError::NotFound(NOT_FOUND.into()))?;
    params
        .remove(name)
        .ok_or_else(|| ClientError::Internal(format!("route has no {{{name}}} parameter")))
}

#[derive(Debug, Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// The token from the `token` header, else from the `?token=` query (EventSource and
/// beacons can't set headers). Empty or oversized values count as absent.
pub(crate) fn token_of(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    let usable = |t: &str| !t.is_empty() && t.len() <= MAX_TOKEN_LEN;
    if let Some(header) = headers.get("token")
        && let Ok(value) = header.to_str()
        && usable(value.trim())
    {
        return Some(value.trim().to_owned());
    }
    Query::<TokenQuery>::try_from_uri(uri)
        .ok()
        .and_then(|Query(q)| q.token)
        .map(|t| t.trim().to_owned())
        .filter(|t| usable(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn check(header: Option<&str>, uri: &str, expected: Option<&str>) {
        let mut headers = HeaderMap::new();
        if let Some(h) = header {
            headers.insert("token", HeaderValue::from_str(h).expect("test header"));
        }
        let uri: Uri = uri.parse().expect("test uri");
        assert_eq!(
            token_of(&headers, &uri).as_deref(),
            expected,
            "{header:?} {uri}"
        );
    }

    #[test]
    fn token_comes_from_the_header_or_the_query() {
        check(Some("abc"), "/x", Some("abc"));
        check(None, "/x?token=def", Some("def"));
        check(Some("abc"), "/x?token=def", Some("abc"));
        check(Some(""), "/x?token=def", Some("def"));
        check(None, "/x?token=a%2Db&other=1", Some("a-b"));
        check(None, "/x", None);
        check(None, "/x?token=", None);
        check(None, "/x?%zz", None);
    }
}
