//! Device registration as Pexip's published client SDKs speak it
//! (`/api/client/v2/registrations/…`): `request_token` with the device's credentials in
//! `Authorization: x-pexip-basic base64(username:password)`, `refresh_token`,
//! `release_token`, the event stream (`incoming`, `incoming_cancelled`) and the
//! directory search `GET registrations?q=`. Devices configured for single sign-on
//! register without `Authorization` (plenum's extension, with the conference
//! request_token's SSO fields and 403 answers: `idp` list, `redirect_url`, then
//! `sso_token`).
//!
//! Registration tokens and conference tokens are kept apart by the node: one is never
//! accepted where the other is expected.

use std::collections::VecDeque;
use std::convert::Infallible;

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::response::sse;
use base64::Engine as _;
use futures_util::Stream;
use plenum_core::{DisconnectReason, Secret};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tracing::debug;

use super::backend::{
    DeviceCredentials, DirectoryEntry, DirectoryError, RegisterRefusal, RegisterRequest,
    RegistrationNotice, SsoRequest, TOKEN_LIFETIME_SECS,
};
use super::error::{ClientError, RESOURCE_UNAVAILABLE, success};
use super::events;
use super::session::{Alias, token_of};
use super::token::{VERSION, VersionDto, idp_list, is_json, present, remote_addr, sso_redirect};
use crate::{AppState, BODY_LIMIT};

/// The answer to credentials that are not accepted, whatever was wrong.
const BAD_CREDENTIALS: &str = "Invalid registration credentials";
/// Longest `User-Agent` kept for the admin's registration list, in characters.
const MAX_USER_AGENT_CHARS: usize = 200;
/// Longest directory query considered, in characters.
const MAX_QUERY_CHARS: usize = 100;

/// The result of `request_token` (the SDKs' `RequestRegistrationTokenResponse`).
#[derive(Debug, Serialize)]
struct RegistrationTokenDto {
    token: String,
    expires: String,
    registration_uuid: String,
    directory_enabled: bool,
    route_via_registrar: bool,
    version: VersionDto,
}

/// The result of `refresh_token` (`RefreshRegistrationTokenResponse`).
#[derive(Debug, Serialize)]
struct RefreshedDto {
    token: String,
    expires: String,
}

/// One directory entry (`RegistrationResponse`).
#[derive(Debug, Serialize)]
struct DirectoryEntryDto {
    alias: String,
    description: String,
    /// Sign-in names are not shown to other users.
    username: &'static str,
}

impl From<DirectoryEntry> for DirectoryEntryDto {
    fn from(entry: DirectoryEntry) -> DirectoryEntryDto {
        DirectoryEntryDto {
            alias: entry.alias,
            description: entry.description,
            username: "",
        }
    }
}

/// The user name and password of an `Authorization` header: `x-pexip-basic` (the
/// SDKs; base64url on Android, standard base64 on iOS) or `Basic`, either alphabet,
/// padding optional. `None` for anything else.
pub(crate) fn credentials(headers: &HeaderMap) -> Option<(String, Secret)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("x-pexip-basic") && !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let encoded = encoded.trim().trim_end_matches('=');
    let engines = [
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
    ];
    let decoded = engines.iter().find_map(|e| e.decode(encoded).ok())?;
    let text = String::from_utf8(decoded).ok()?;
    let (username, password) = text.split_once(':')?;
    Some((username.to_owned(), Secret::new(password.to_owned())))
}

/// The single sign-on fields of a registration without `Authorization`: a JSON object
/// with `chosen_idp`, `sso_redirect_target` or `sso_token` (unknown keys ignored), or no
/// body at all (the identity providers are listed).
#[derive(Debug, Default, Deserialize)]
struct SsoBody {
    #[serde(default)]
    chosen_idp: Option<String>,
    #[serde(default)]
    sso_token: Option<String>,
    #[serde(default)]
    sso_redirect_target: Option<String>,
}

async fn sso_body(headers: &HeaderMap, body: Body) -> Result<SsoRequest, ClientError> {
    let bytes = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| ClientError::PayloadTooLarge)?;
    let parsed: SsoBody = if bytes.iter().all(u8::is_ascii_whitespace) {
        SsoBody::default()
    } else {
        if !is_json(headers) {
            return Err(ClientError::UnsupportedMediaType(
                "request body must be application/json".into(),
            ));
        }
        serde_json::from_slice(&bytes).map_err(|_| {
            ClientError::BadRequest(
                "the body must be a JSON object; chosen_idp, sso_token and sso_redirect_target are strings".into(),
            )
        })?
    };
    Ok(SsoRequest {
        chosen_idp: present(parsed.chosen_idp),
        sso_token: present(parsed.sso_token).map(Secret::new),
        redirect_target: present(parsed.sso_redirect_target),
    })
}

/// The status a refusal is answered with.
fn refused(refusal: RegisterRefusal) -> ClientError {
    match refusal {
        RegisterRefusal::BadCredentials => ClientError::Unauthorized(BAD_CREDENTIALS.into()),
        // Answered as their 403 bodies by `request_token`.
        RegisterRefusal::IdpRequired(_) | RegisterRefusal::SsoRedirect { .. } => {
            ClientError::Forbidden(DisconnectReason::SsoFailed.text().into())
        }
        RegisterRefusal::TooManyFailures { retry_after } => {
            ClientError::TooManyAttempts(retry_after.as_secs().max(1))
        }
        RegisterRefusal::Refused(
            reason @ (DisconnectReason::MaintenanceMode | DisconnectReason::OutOfResource),
        ) => ClientError::Unavailable(reason.text().into()),
        RegisterRefusal::Refused(reason) => ClientError::Forbidden(reason.text().into()),
    }
}

/// `POST registrations/{alias}/request_token`.
pub(crate) async fn request_token(
    State(state): State<AppState>,
    Alias(alias): Alias,
    request: Request,
) -> Result<Response, ClientError> {
    let remote = remote_addr(&request)?;
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let credentials = if headers.contains_key(header::AUTHORIZATION) {
        let Some((username, password)) = credentials(headers) else {
            debug!(client = %remote, "registration with an unusable Authorization header");
            return Err(ClientError::Unauthorized(BAD_CREDENTIALS.into()));
        };
        DeviceCredentials::Password { username, password }
    } else {
        DeviceCredentials::SingleSignOn(sso_body(headers, body).await?)
    };
    // Asking which identity providers devices sign in with costs nothing (the web app
    // asks on every home screen); every other attempt counts toward the rate limit.
    let just_asking = matches!(&credentials, DeviceCredentials::SingleSignOn(sso) if sso.chosen_idp.is_none() && sso.sso_token.is_none());
    if !just_asking
        && !state
            .client_limiter
            .allow(remote.ip(), tokio::time::Instant::now().into_std())
    {
        debug!(client = %remote.ip(), "registration request_token rate limit exceeded");
        return Err(ClientError::Unavailable(RESOURCE_UNAVAILABLE.into()));
    }
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(MAX_USER_AGENT_CHARS).collect())
        .unwrap_or_default();
    // Password hashing is deliberately slow: bound how many run at once.
    let _permit = state
        .verify_permits
        .acquire()
        .await
        .map_err(|_| ClientError::Internal("credential check semaphore closed".to_owned()))?;
    let grant = state
        .client
        .register(RegisterRequest {
            alias,
            credentials,
            client_addr: remote,
            user_agent,
        })
        .await;
    let grant = match grant {
        Ok(grant) => grant,
        Err(RegisterRefusal::IdpRequired(idps)) => return Ok(idp_list(idps)),
        Err(RegisterRefusal::SsoRedirect { url, idp }) => return Ok(sso_redirect(url, idp)),
        Err(refusal) => return Err(refused(refusal)),
    };
    Ok(success(RegistrationTokenDto {
        token: grant.token.expose().to_owned(),
        expires: TOKEN_LIFETIME_SECS.to_string(),
        registration_uuid: grant.registration.to_string(),
        directory_enabled: grant.directory_enabled,
        route_via_registrar: grant.route_via_registrar,
        version: VERSION,
    }))
}

/// `POST registrations/{alias}/refresh_token`.
pub(crate) async fn refresh_token(
    State(state): State<AppState>,
    Alias(alias): Alias,
    request: Request,
) -> Result<Response, ClientError> {
    let token = token_of(request.headers(), request.uri()).ok_or(ClientError::InvalidToken)?;
    let token = state.client.refresh_registration(&alias, &token).await?;
    Ok(success(RefreshedDto {
        token: token.expose().to_owned(),
        expires: TOKEN_LIFETIME_SECS.to_string(),
    }))
}

/// `POST registrations/{alias}/release_token`.
pub(crate) async fn release_token(
    State(state): State<AppState>,
    Alias(alias): Alias,
    request: Request,
) -> Result<Response, ClientError> {
    let token = token_of(request.headers(), request.uri()).ok_or(ClientError::InvalidToken)?;
    state.client.release_registration(&alias, &token).await?;
    Ok(success(true))
}

#[derive(Debug, Deserialize)]
struct DirectoryQuery {
    #[serde(default)]
    q: Option<String>,
}

/// The search text of a directory query string (`?q=`): trimmed, at most
/// [`MAX_QUERY_CHARS`] characters, empty when absent (the registrations' directory and
/// the Hosts' device search).
pub(crate) fn search_text(uri: &axum::http::Uri) -> Result<String, ClientError> {
    let query = Query::<DirectoryQuery>::try_from_uri(uri)
        .map_err(|_| ClientError::BadRequest("the query string is malformed".into()))?
        .0
        .q
        .unwrap_or_default();
    Ok(query.trim().chars().take(MAX_QUERY_CHARS).collect())
}

/// `GET registrations?q=`: the directory.
pub(crate) async fn directory(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ClientError> {
    let token = token_of(request.headers(), request.uri()).ok_or(ClientError::InvalidToken)?;
    let query = search_text(request.uri())?;
    let entries = state
        .client
        .directory(&token, &query)
        .map_err(|e| match e {
            DirectoryError::InvalidToken => ClientError::InvalidToken,
            DirectoryError::Disabled => ClientError::Forbidden(e.to_string().into()),
        })?;
    Ok(success(
        entries
            .into_iter()
            .map(DirectoryEntryDto::from)
            .collect::<Vec<_>>(),
    ))
}

/// `GET registrations/{alias}/events`: the registration's server-sent events.
pub(crate) async fn events(
    State(state): State<AppState>,
    Alias(alias): Alias,
    request: Request,
) -> Result<Response, ClientError> {
    let token = token_of(request.headers(), request.uri()).ok_or(ClientError::InvalidToken)?;
    let feed = state.client.registration_feed(&alias, &token)?;
    let stream = notices(feed.ringing.into(), feed.notices);
    Ok(events::sse_response(stream))
}

/// The wire form of a notice; `None` for [`RegistrationNotice::Ended`].
pub(crate) fn notice_event(notice: &RegistrationNotice) -> Option<(&'static str, String)> {
    let data = match notice {
        RegistrationNotice::Incoming {
            conference_alias,
            remote_display_name,
            token,
        } => (
            "incoming",
            serde_json::json!({
                "conference_alias": conference_alias,
                "remote_display_name": remote_display_name,
                "token": token.expose(),
            }),
        ),
        RegistrationNotice::IncomingCancelled { token } => (
            "incoming_cancelled",
            serde_json::json!({ "token": token.expose() }),
        ),
        RegistrationNotice::Ended => return None,
    };
    Some((data.0, data.1.to_string()))
}

/// The stream: the calls ringing at open, then each notice until the registration
/// ends or the reader falls behind (it reconnects and gets the ringing calls again).
fn notices(
    pending: VecDeque<RegistrationNotice>,
    notices: broadcast::Receiver<RegistrationNotice>,
) -> impl Stream<Item = Result<sse::Event, Infallible>> + Send + 'static {
    futures_util::stream::unfold(
        (pending, notices),
        |(mut pending, mut notices)| async move {
            let notice = match pending.pop_front() {
                Some(notice) => notice,
                None => match notices.recv().await {
                    Ok(notice) => notice,
                    Err(broadcast::error::RecvError::Lagged(_))
                    | Err(broadcast::error::RecvError::Closed) => return None,
                },
            };
            let (name, data) = notice_event(&notice)?;
            let event = sse::Event::default().event(name).data(data);
            Some((Ok(event), (pending, notices)))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_auth(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(value).expect("test header"),
        );
        headers
    }

    fn user_of(value: &str) -> Option<(String, String)> {
        credentials(&with_auth(value)).map(|(u, p)| (u, p.expose().to_owned()))
    }

    #[test]
    fn credentials_come_in_either_base64_alphabet_and_scheme() {
        let pair = Some(("alice".to_owned(), "s3cr~t??>".to_owned()));
        // "alice:s3cr~t??>" has bytes that differ between the two alphabets.
        let standard = base64::engine::general_purpose::STANDARD.encode("alice:s3cr~t??>");
        let url = base64::engine::general_purpose::URL_SAFE.encode("alice:s3cr~t??>");
        assert_ne!(standard, url);
        assert_eq!(user_of(&format!("x-pexip-basic {standard}")), pair);
        assert_eq!(user_of(&format!("x-pexip-basic {url}")), pair);
        assert_eq!(
            user_of(&format!("X-Pexip-Basic {}", url.trim_end_matches('='))),
            pair
        );
        assert_eq!(user_of(&format!("Basic {standard}")), pair);
        let colon = base64::engine::general_purpose::STANDARD.encode("bob:a:b");
        assert_eq!(
            user_of(&format!("x-pexip-basic {colon}")),
            Some(("bob".to_owned(), "a:b".to_owned()))
        );
    }

    #[test]
    fn malformed_credentials_are_none() {
        assert_eq!(user_of("Bearer abc"), None);
        assert_eq!(user_of("x-pexip-basic"), None);
        assert_eq!(user_of("x-pexip-basic !!!"), None);
        let no_colon = base64::engine::general_purpose::STANDARD.encode("alice");
        assert_eq!(user_of(&format!("x-pexip-basic {no_colon}")), None);
        let not_utf8 = base64::engine::general_purpose::STANDARD.encode([0xff, b':', b'a']);
        assert_eq!(user_of(&format!("x-pexip-basic {not_utf8}")), None);
        assert_eq!(credentials(&HeaderMap::new()).map(|(u, _)| u), None);
    }

    #[test]
    fn notices_render_as_the_sdks_read_them() {
        let (name, data) = notice_event(&RegistrationNotice::Incoming {
            conference_alias: "call.x".to_owned(),
            remote_display_name: "Alice".to_owned(),
            token: Secret::new("t1".to_owned()),
        })
        .expect("incoming is sent");
        assert_eq!(name, "incoming");
        let data: serde_json::Value = serde_json::from_str(&data).expect("json");
        assert_eq!(
            data,
            serde_json::json!({"conference_alias": "call.x", "remote_display_name": "Alice", "token": "t1"})
        );
        let (name, data) = notice_event(&RegistrationNotice::IncomingCancelled {
            token: Secret::new("t1".to_owned()),
        })
        .expect("cancelled is sent");
        assert_eq!(
            (name, data.as_str()),
            ("incoming_cancelled", r#"{"token":"t1"}"#)
        );
        assert_eq!(notice_event(&RegistrationNotice::Ended), None);
    }
}
