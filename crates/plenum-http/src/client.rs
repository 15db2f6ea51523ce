//! The client REST API v2 (`/api/client/v2/conferences/{alias}/…`) and its event
//! stream, as Pexip's published SDK speaks it: the route table, CORS, and the modules
//! that own each group of endpoints.
//!
//! Every answer is JSON with `Content-Type: application/json` (except `theme/`'s 204,
//! theme images, the stream, presentation stills, and the call group's text 4xx/5xx the SDK reads as
//! text); errors are `{"status":"failed","result":"<reason>"}`. Tokens come from the
//! `token` header or the `?token=` query and are never logged.

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::routing::{get, post};
use plenum_core::Command;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::warn;

use crate::AppState;

pub mod backend;
mod body;
mod call;
mod conference;
mod dial;
mod dto;
pub(crate) mod error;
mod events;
pub use events::StreamRenderer;
mod layout_svg;
mod participant;
mod rate_limit;
mod registration;
mod session;
mod sso;
pub mod theme;
mod theme_routes;
mod token;

pub(crate) use rate_limit::RateLimiter;
pub(crate) use rate_limit::{BURST as REQUEST_TOKEN_BURST, REFILL as REQUEST_TOKEN_REFILL};

/// How long browsers may cache a CORS preflight answer.
const CORS_MAX_AGE: Duration = Duration::from_secs(600);

/// The routes of the client API, relative to `/api/client/v2`.
pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    const CONF: &str = "/conferences/{alias}";
    const REG: &str = "/registrations/{alias}";
    const PART: &str = "/conferences/{alias}/participants/{uuid}";
    const CALL: &str = "/conferences/{alias}/participants/{uuid}/calls/{call_uuid}";
    let conference_actions = [
        ("lock", Command::Lock),
        ("unlock", Command::Unlock),
        ("start_conference", Command::StartConference),
        ("muteguests", Command::MuteGuests),
        ("unmuteguests", Command::UnmuteGuests),
        ("disconnect", Command::DisconnectAll),
        ("clearallbuzz", Command::LowerAllHands),
    ];
    let participant_actions: [(&str, participant::MakeCommand); 14] = [
        ("disconnect", Command::Disconnect),
        ("mute", Command::Mute),
        ("unmute", Command::Unmute),
        ("client_mute", Command::ClientMute),
        ("client_unmute", Command::ClientUnmute),
        ("video_muted", Command::VideoMute),
        ("video_unmuted", Command::VideoUnmute),
        ("allowrxpresentation", Command::AllowPresentation),
        ("denyrxpresentation", Command::DenyPresentation),
        ("spotlighton", Command::SpotlightOn),
        ("spotlightoff", Command::SpotlightOff),
        ("unlock", Command::Admit),
        ("buzz", Command::RaiseHand),
        ("clearbuzz", Command::LowerHand),
    ];

    let mut router = Router::new()
        // Provisioning links (behavior.md §9): the page, its script and stylesheet.
        .route("/provision", get(crate::provision::page::page))
        .route("/provision.js", get(crate::provision::page::script))
        .route("/provision.css", get(crate::provision::page::style))
        // Tokens.
        .route(&format!("{CONF}/request_token"), post(token::request_token))
        .route(&format!("{CONF}/refresh_token"), post(token::refresh_token))
        .route(&format!("{CONF}/release_token"), post(token::release_token))
        // Device registration (desktop and mobile clients) and the directory.
        .route("/registrations", get(registration::directory))
        .route("/registrations/", get(registration::directory))
        .route(
            &format!("{REG}/request_token"),
            post(registration::request_token),
        )
        .route(
            &format!("{REG}/refresh_token"),
            post(registration::refresh_token),
        )
        .route(
            &format!("{REG}/release_token"),
            post(registration::release_token),
        )
        .route(&format!("{REG}/events"), get(registration::events))
        // The end of a single sign-on (not under a conference).
        .route("/oauth2_redirect", get(sso::oauth2_redirect))
        // The event stream.
        .route(&format!("{CONF}/events"), get(events::events))
        // Conference group.
        .route(
            &format!("{CONF}/conference_status"),
            get(conference::conference_status),
        )
        .route(
            &format!("{CONF}/participants"),
            get(conference::participants),
        )
        .route(
            &format!("{CONF}/set_guests_can_unmute"),
            post(conference::set_guests_can_unmute),
        )
        .route(&format!("{CONF}/message"), post(conference::message))
        .route(
            &format!("{CONF}/transform_layout"),
            post(conference::transform_layout),
        )
        .route(
            &format!("{CONF}/available_layouts"),
            get(conference::available_layouts),
        )
        .route(&format!("{CONF}/layout_svgs"), get(conference::layout_svgs))
        .route(&format!("{CONF}/theme/"), get(theme_routes::screens))
        .route(&format!("{CONF}/theme"), get(theme_routes::screens))
        .route(&format!("{CONF}/theme/{{*path}}"), get(theme_routes::image))
        .route(&format!("{CONF}/dial"), post(dial::conference))
        .route(&format!("{CONF}/directory"), get(dial::directory))
        .route(&format!("{PART}/dial"), post(dial::participant))
        // Participant group.
        .route(&format!("{PART}/dtmf"), post(participant::dtmf))
        .route(
            &format!("{PART}/overlaytext"),
            post(participant::overlay_text),
        )
        .route(&format!("{PART}/role"), post(participant::role))
        .route(&format!("{PART}/transfer"), post(participant::transfer))
        .route(&format!("{PART}/message"), post(participant::message))
        .route(&format!("{PART}/avatar.jpg"), get(participant::avatar))
        .route(
            &format!("{PART}/take_floor"),
            participant::floor(Command::TakeFloor),
        )
        .route(
            &format!("{PART}/release_floor"),
            participant::floor(Command::ReleaseFloor),
        )
        .route(
            &format!("{PART}/preferred_aspect_ratio"),
            post(participant::preferred_aspect_ratio),
        )
        .route(&format!("{PART}/notify_not_afk"), participant::self_hint())
        .route(
            &format!("{PART}/show_live_captions"),
            post(participant::live_captions),
        )
        .route(
            &format!("{PART}/hide_live_captions"),
            post(participant::live_captions),
        )
        // Call group and presentation stills.
        .route(&format!("{PART}/calls"), post(call::open))
        .route(&format!("{CALL}/new_candidate"), post(call::new_candidate))
        .route(&format!("{CALL}/ack"), post(call::ack))
        .route(&format!("{CALL}/update"), post(call::update))
        .route(&format!("{CALL}/disconnect"), post(call::disconnect))
        .route(&format!("{CALL}/dtmf"), post(call::dtmf))
        .route(&format!("{CALL}/statistics"), post(call::statistics))
        .route(
            &format!("{CONF}/presentation.jpeg"),
            call::presentation(false),
        )
        .route(
            &format!("{CONF}/presentation_high.jpeg"),
            call::presentation(true),
        );
    for (name, command) in conference_actions {
        router = router.route(&format!("{CONF}/{name}"), conference::action(command));
    }
    for (name, make) in participant_actions {
        router = router.route(&format!("{PART}/{name}"), participant::action(make));
    }
    let router = router
        .fallback(conference::not_found)
        .method_not_allowed_fallback(|| async { error::ClientError::MethodNotAllowed });
    match cors(&state.cors_origins) {
        Some(layer) => router.layer(layer),
        None => router,
    }
}

/// CORS for the configured origins (none: no CORS headers at all, so browsers allow
/// only same-origin use).
fn cors(origins: &[String]) -> Option<CorsLayer> {
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(
            |o| match HeaderValue::from_str(o.trim().trim_end_matches('/')) {
                Ok(v) => Some(v),
                Err(_) => {
                    warn!(origin = %o, "ignoring a CORS origin that is not a valid header value");
                    None
                }
            },
        )
        .collect();
    if allowed.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(allowed))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                HeaderName::from_static("token"),
                HeaderName::from_static("pin"),
                header::CONTENT_TYPE,
            ])
            .max_age(CORS_MAX_AGE),
    )
}
