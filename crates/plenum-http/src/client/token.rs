//! The token lifecycle (§1): `request_token` (PIN and reception prompts, refusals by
//! reason, the rate limit, display-name cleanup), `refresh_token` and `release_token`.

use std::net::SocketAddr;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse as _, Response};
use plenum_core::{DisconnectReason, PinInput, Secret};
use serde::{Deserialize, Serialize};
use tracing::debug;

use super::backend::{
    IceServers, IdpChoice, SsoRequest, TOKEN_LIFETIME_SECS, TokenGrant, TokenRefusal, TokenRequest,
};
use super::dto::{current_service_type, service_type, token_role};
use super::error::{ClientError, RESOURCE_UNAVAILABLE, success, success_with};
use super::session::{Alias, token_of};
use crate::error::AuthFailure;
use crate::{AppState, BODY_LIMIT};

/// Longest display name kept, in characters.
pub(crate) const MAX_DISPLAY_NAME_CHARS: usize = 100;
/// The name of a caller who gave none (or only invisible characters).
pub(crate) const DEFAULT_DISPLAY_NAME: &str = "Guest";
/// Longest `release_token` reason kept, in characters.
const MAX_REASON_CHARS: usize = 200;
/// Bandwidth cap advertised for both directions, kbps.
const BANDWIDTH_KBPS: u32 = 1264;
/// `version` of the token results (conference and registration).
pub(super) const VERSION: VersionDto = VersionDto {
    version_id: env!("CARGO_PKG_VERSION"),
    pseudo_version: env!("CARGO_PKG_VERSION"),
};

// === request_token ===

/// The `request_token` body; unknown keys are ignored, `display_name` is required.
#[derive(Debug, Deserialize)]
struct RequestTokenBody {
    display_name: String,
    #[serde(default)]
    conference_extension: Option<String>,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    call_tag: Option<String>,
    #[serde(default)]
    chosen_idp: Option<String>,
    #[serde(default)]
    sso_token: Option<String>,
    #[serde(default)]
    sso_redirect_target: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub(super) struct VersionDto {
    version_id: &'static str,
    pseudo_version: &'static str,
}

/// The 200 result of `request_token` (§1.3).
#[derive(Debug, Serialize)]
struct TokenResultDto {
    token: String,
    expires: String,
    participant_uuid: String,
    display_name: String,
    role: &'static str,
    version: VersionDto,
    current_service_type: &'static str,
    service_type: &'static str,
    call_type: &'static str,
    chat_enabled: bool,
    direct_media: bool,
    guests_can_present: bool,
    conference_name: String,
    service_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    call_tag: Option<String>,
    allow_1080p: bool,
    vp9_enabled: bool,
    breakout_rooms: bool,
    trickle_ice_enabled: bool,
    analytics_enabled: bool,
    fecc_enabled: bool,
    rtmp_enabled: bool,
    rtsp_enabled: bool,
    route_via_registrar: bool,
    use_relay_candidates_only: bool,
    bandwidth_in: u32,
    bandwidth_out: u32,
    /// Left out when empty: browsers reject an empty `stun` list (§9).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    stun: Vec<StunDto>,
    /// Left out when empty, like `stun`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    turn: Vec<TurnDto>,
}

/// One `stun` entry: a single URL (the SDK merges them into one `RTCIceServer`).
#[derive(Debug, Serialize)]
struct StunDto {
    url: String,
}

/// One `turn` entry, an `RTCIceServer` as given.
#[derive(Serialize)]
struct TurnDto {
    urls: Vec<String>,
    username: String,
    credential: String,
}

impl std::fmt::Debug for TurnDto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnDto")
            .field("urls", &self.urls)
            .field("username", &self.username)
            .field("credential", &"<redacted>")
            .finish()
    }
}

/// The `stun` and `turn` entries of the token result.
fn ice_dtos(ice: IceServers) -> (Vec<StunDto>, Vec<TurnDto>) {
    let stun = ice.stun.into_iter().map(|url| StunDto { url }).collect();
    let turn = ice
        .turn
        .into_iter()
        .map(|t| TurnDto {
            urls: t.urls,
            username: t.username,
            credential: t.credential.expose().to_owned(),
        })
        .collect();
    (stun, turn)
}

impl TokenResultDto {
    fn new(grant: TokenGrant, call_tag: Option<String>) -> TokenResultDto {
        let conference = &grant.conference;
        let kind = conference.service.kind;
        let waiting = conference
            .participants
            .iter()
            .find(|p| p.id == grant.participant)
            .is_some_and(|p| !p.is_admitted());
        let (stun, turn) = ice_dtos(grant.ice);
        TokenResultDto {
            token: grant.token.expose().to_owned(),
            expires: TOKEN_LIFETIME_SECS.to_string(),
            participant_uuid: grant.participant.to_string(),
            display_name: grant.display_name,
            role: token_role(grant.role),
            version: VERSION,
            current_service_type: current_service_type(kind, waiting),
            service_type: service_type(kind),
            call_type: "video",
            chat_enabled: conference.status.chat_enabled,
            direct_media: false,
            guests_can_present: conference.status.guests_can_present,
            conference_name: conference.service.name.clone(),
            service_name: conference.service.name.clone(),
            call_tag,
            allow_1080p: false,
            vp9_enabled: false,
            breakout_rooms: false,
            trickle_ice_enabled: true,
            analytics_enabled: false,
            fecc_enabled: false,
            rtmp_enabled: false,
            rtsp_enabled: false,
            route_via_registrar: grant.route_via_registrar,
            use_relay_candidates_only: false,
            bandwidth_in: BANDWIDTH_KBPS,
            bandwidth_out: BANDWIDTH_KBPS,
            stun,
            turn,
        }
    }
}

/// The 403 PIN prompt.
#[derive(Debug, Serialize)]
struct PinPromptDto {
    pin: &'static str,
    guest_pin: &'static str,
    version: VersionDto,
}

/// The 403 Virtual Reception prompt.
#[derive(Debug, Serialize)]
struct ExtensionPromptDto {
    conference_extension: &'static str,
    conference_extension_type: &'static str,
}

/// One identity provider in the 403 SSO answers.
#[derive(Debug, Serialize)]
pub(super) struct IdpDto {
    name: String,
    uuid: String,
}

impl From<IdpChoice> for IdpDto {
    fn from(idp: IdpChoice) -> IdpDto {
        IdpDto {
            name: idp.name,
            uuid: idp.uuid.to_string(),
        }
    }
}

/// The 403 SSO list: pick an identity provider.
#[derive(Debug, Serialize)]
struct IdpListDto {
    idp: Vec<IdpDto>,
    version: VersionDto,
}

/// The 403 SSO redirect: sign in there.
#[derive(Debug, Serialize)]
struct SsoRedirectDto {
    redirect_url: String,
    redirect_idp: IdpDto,
    version: VersionDto,
}

/// The 403 answer listing the identity providers to pick from (conferences and
/// registrations).
pub(super) fn idp_list(idps: Vec<IdpChoice>) -> Response {
    success_with(
        StatusCode::FORBIDDEN,
        IdpListDto {
            idp: idps.into_iter().map(IdpDto::from).collect(),
            version: VERSION,
        },
    )
}

/// The 403 answer sending the client to sign in at `url` (conferences and
/// registrations).
pub(super) fn sso_redirect(url: String, idp: IdpChoice) -> Response {
    success_with(
        StatusCode::FORBIDDEN,
        SsoRedirectDto {
            redirect_url: url,
            redirect_idp: idp.into(),
            version: VERSION,
        },
    )
}

/// A body text field as given: trimmed, and the SDK's literal `"none"` taken as absent.
pub(super) fn present(value: Option<String>) -> Option<String> {
    value
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("none"))
}

/// `POST …/request_token`.
pub(crate) async fn request_token(
    State(state): State<AppState>,
    Alias(alias): Alias,
    request: Request,
) -> Result<Response, ClientError> {
    let client_addr = remote_addr(&request)?.ip();
    if !state
        .client_limiter
        .allow(client_addr, tokio::time::Instant::now().into_std())
    {
        debug!(%client_addr, "request_token rate limit exceeded");
        return Err(ClientError::Unavailable(RESOURCE_UNAVAILABLE.into()));
    }
    let (parts, body) = request.into_parts();
    let body = read_json_body(&parts.headers, body).await?;
    let pin = PinInput::from_header(parts.headers.get("pin").and_then(|v| v.to_str().ok()));
    let call_tag = body.call_tag;
    let token_request = TokenRequest {
        alias,
        pin,
        display_name: clean_display_name(&body.display_name),
        conference_extension: present(body.conference_extension),
        // A transfer's or an incoming call's one-time token: in the body (the web SDK,
        // Android) or the `token` header (iOS).
        join_ticket: present(body.token)
            .or_else(|| {
                present(
                    parts
                        .headers
                        .get("token")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                )
            })
            .map(Secret::new),
        call_tag: call_tag.clone(),
        client_addr,
        sso: SsoRequest {
            chosen_idp: present(body.chosen_idp),
            sso_token: present(body.sso_token).map(Secret::new),
            redirect_target: present(body.sso_redirect_target),
        },
    };
    match state.client.request_token(token_request).await {
        Ok(grant) => Ok(success(TokenResultDto::new(grant, call_tag))),
        Err(TokenRefusal::PinRequired { guest_pin }) => Ok(success_with(
            StatusCode::FORBIDDEN,
            PinPromptDto {
                pin: "required",
                guest_pin: if guest_pin { "required" } else { "none" },
                version: VERSION,
            },
        )),
        Err(TokenRefusal::ExtensionRequired) => Ok(success_with(
            StatusCode::FORBIDDEN,
            ExtensionPromptDto {
                conference_extension: "required",
                conference_extension_type: "standard",
            },
        )),
        Err(TokenRefusal::IdpRequired(idps)) => Ok(idp_list(idps)),
        Err(TokenRefusal::SsoRedirect { url, idp }) => Ok(sso_redirect(url, idp)),
        Err(TokenRefusal::Refused(
            reason @ (DisconnectReason::InvalidPin | DisconnectReason::TooManyPinAttempts),
        )) => {
            let mut response = refused(reason).into_response();
            response.extensions_mut().insert(AuthFailure::Pin);
            Ok(response)
        }
        Err(TokenRefusal::Refused(reason)) => Err(refused(reason)),
    }
}

/// The client's address (rate limits, failure counting, logs).
pub(super) fn remote_addr(request: &Request) -> Result<SocketAddr, ClientError> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(remote)| *remote)
        .ok_or_else(|| {
            ClientError::Internal(
                "no ConnectInfo<SocketAddr> on the request: serve the router with connect info"
                    .to_owned(),
            )
        })
}

/// The status a refusal is answered with: 404 when nothing answers to the alias (or
/// nobody is registered at a device alias), 503
/// when the node can't take calls, 403 otherwise.
fn refused(reason: DisconnectReason) -> ClientError {
    let text = reason.text().into();
    match reason {
        DisconnectReason::AliasNotFound
        | DisconnectReason::ExtensionNotFound
        | DisconnectReason::DeviceNotRegistered => ClientError::NotFound(text),
        DisconnectReason::MaintenanceMode | DisconnectReason::OutOfResource => {
            ClientError::Unavailable(text)
        }
        _ => ClientError::Forbidden(text),
    }
}

/// Whether the request says its body is JSON (`Content-Type: application/json`, any
/// parameters).
pub(super) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// The body of `request_token`: JSON by Content-Type and content, with a string
/// `display_name`. Every failure is a 415, the one body error status the SDK's
/// `request_token` wrapper reports to the app instead of failing the join as a
/// "critical network action".
async fn read_json_body(headers: &HeaderMap, body: Body) -> Result<RequestTokenBody, ClientError> {
    let unsupported = |why: &'static str| ClientError::UnsupportedMediaType(why.into());
    if !is_json(headers) {
        return Err(unsupported("request body must be application/json"));
    }
    let bytes = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| unsupported("request body could not be read"))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| unsupported("request body must be a JSON object with a display_name string"))
}

/// A display name fit for rosters and overlays: control and invisible formatting
/// characters removed (line breaks and tabs become spaces), trimmed, at most
/// [`MAX_DISPLAY_NAME_CHARS`] characters; [`DEFAULT_DISPLAY_NAME`] if nothing is left.
pub(crate) fn clean_display_name(raw: &str) -> String {
    let visible: String = raw
        .chars()
        .filter_map(|c| match c {
            c if c.is_control() && c.is_whitespace() => Some(' '),
            c if c.is_control() || is_invisible_format(c) => None,
            c => Some(c),
        })
        .collect();
    let capped: String = visible
        .trim()
        .chars()
        .take(MAX_DISPLAY_NAME_CHARS)
        .collect();
    match capped.trim_end() {
        "" => DEFAULT_DISPLAY_NAME.to_owned(),
        name => name.to_owned(),
    }
}

/// Zero-width and bidirectional formatting characters: invisible in a roster, and
/// usable to disguise a name.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

// === refresh_token ===

#[derive(Debug, Serialize)]
struct RefreshedDto {
    token: String,
    expires: String,
    role: &'static str,
}

/// `POST …/refresh_token`.
pub(crate) async fn refresh_token(
    State(state): State<AppState>,
    Alias(alias): Alias,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ClientError> {
    let token = token_of(&headers, &uri).ok_or(ClientError::InvalidToken)?;
    let refreshed = state.client.refresh_token(&alias, &token).await?;
    Ok(success(RefreshedDto {
        token: refreshed.token.expose().to_owned(),
        expires: TOKEN_LIFETIME_SECS.to_string(),
        role: token_role(refreshed.role),
    }))
}

// === release_token ===

/// `POST …/release_token`: JSON `{"reason"?}`, an empty body, or a beacon with any
/// Content-Type; the token may come from the query. A body that is not such JSON is
/// ignored: the participant leaves either way.
pub(crate) async fn release_token(
    State(state): State<AppState>,
    Alias(alias): Alias,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, ClientError> {
    let token = token_of(&headers, &uri).ok_or(ClientError::InvalidToken)?;
    let reason = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("reason")?.as_str().map(clean_reason))
        .filter(|r| !r.is_empty());
    state.client.release_token(&alias, &token, reason).await?;
    Ok(success(true))
}

/// A client-supplied leave reason, bounded and without control characters.
fn clean_reason(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_control())
        .take(MAX_REASON_CHARS)
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, expected: &str) {
        assert_eq!(clean_display_name(raw), expected, "{raw:?}");
    }

    #[test]
    fn display_names_are_trimmed_stripped_and_capped() {
        check("  Alice  ", "Alice");
        check("Al\u{0}ice\u{7}", "Alice");
        check("Ann\nBob", "Ann Bob");
        check("\u{202E}evil\u{200B}", "evil");
        check("", DEFAULT_DISPLAY_NAME);
        check(" \t\u{200B} ", DEFAULT_DISPLAY_NAME);
        check("Zoë 😀", "Zoë 😀");
        let long = "é".repeat(150);
        assert_eq!(
            clean_display_name(&long).chars().count(),
            MAX_DISPLAY_NAME_CHARS
        );
        // A cut that lands on a space does not leave it trailing.
        let spaced = format!("{} tail", "a".repeat(99));
        check(&spaced, &"a".repeat(99));
    }

    #[test]
    fn refusals_map_to_their_statuses() {
        use axum::response::IntoResponse as _;
        let status = |r| refused(r).into_response().status();
        assert_eq!(
            status(DisconnectReason::AliasNotFound),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            status(DisconnectReason::ExtensionNotFound),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            status(DisconnectReason::MaintenanceMode),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            status(DisconnectReason::OutOfResource),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(status(DisconnectReason::InvalidPin), StatusCode::FORBIDDEN);
        assert_eq!(
            status(DisconnectReason::TooManyPinAttempts),
            StatusCode::FORBIDDEN
        );
    }
}
