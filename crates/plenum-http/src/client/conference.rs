//! The conference group (§2.1): status and roster reads, Host controls, chat to
//! everyone, layouts and the theme.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use plenum_core::{ALL_LAYOUTS, Command, Layout, MessageKind};
use serde::{Deserialize, Serialize};

use super::body;
use super::dto::{ConferenceStatusDto, ParticipantDto};
use super::error::{ClientError, success};
use super::layout_svg;
use super::session::Session;
use crate::AppState;

/// Runs `command` as the session's participant.
pub(crate) async fn run(
    state: &AppState,
    session: &Session,
    command: Command,
) -> Result<(), ClientError> {
    state.client.command(&session.caller, command).await??;
    Ok(())
}

/// A body-less POST that runs `command` and answers **B** `true`.
pub(crate) fn action(command: Command) -> MethodRouter<AppState> {
    post(
        move |State(state): State<AppState>, session: Session| async move {
            run(&state, &session, command).await.map(|()| success(true))
        },
    )
}

/// `GET …/conference_status`.
pub(crate) async fn conference_status(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, ClientError> {
    let snapshot = state.client.snapshot(&session.caller).await?;
    Ok(success(ConferenceStatusDto::from(&snapshot.status)))
}

/// `GET …/participants`.
pub(crate) async fn participants(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, ClientError> {
    let snapshot = state.client.snapshot(&session.caller).await?;
    let clock = state.client.clock();
    let roster: Vec<ParticipantDto> = snapshot
        .participants
        .iter()
        .map(|p| ParticipantDto::new(p, &snapshot.service, &clock))
        .collect();
    Ok(success(roster))
}

#[derive(Debug, Deserialize)]
struct SettingBody {
    setting: bool,
}

/// `POST …/set_guests_can_unmute {"setting": bool}`.
pub(crate) async fn set_guests_can_unmute(
    State(state): State<AppState>,
    session: Session,
    bytes: Bytes,
) -> Result<Response, ClientError> {
    let SettingBody { setting } = body::parse(&bytes, r#"{"setting": true}"#)?;
    run(&state, &session, Command::SetGuestsCanUnmute(setting)).await?;
    Ok(success(true))
}

/// A chat message body, to everyone or to one participant.
#[derive(Debug, Deserialize)]
pub(crate) struct MessageBody {
    #[serde(rename = "type")]
    kind: String,
    payload: String,
}

pub(crate) const MESSAGE_SHAPE: &str = r#"{"type": "text/plain", "payload": "…"}"#;

impl MessageBody {
    /// The kind named by `type`: `text/plain` or `application/json`, parameters such as
    /// `;charset=utf-8` allowed.
    pub(crate) fn into_parts(self) -> Result<(MessageKind, String), ClientError> {
        let mime = self.kind.split(';').next().unwrap_or_default().trim();
        let kind = if mime.eq_ignore_ascii_case("text/plain") {
            MessageKind::Text
        } else if mime.eq_ignore_ascii_case("application/json") {
            MessageKind::Json
        } else {
            return Err(ClientError::BadRequest(
                "message type must be text/plain or application/json".into(),
            ));
        };
        Ok((kind, self.payload))
    }
}

/// `POST …/message {"type","payload"}`: chat to everyone.
pub(crate) async fn message(
    State(state): State<AppState>,
    session: Session,
    bytes: Bytes,
) -> Result<Response, ClientError> {
    let (kind, payload) = body::parse::<MessageBody>(&bytes, MESSAGE_SHAPE)?.into_parts()?;
    let command = Command::SendMessage {
        to: None,
        kind,
        payload,
    };
    run(&state, &session, command).await?;
    Ok(success(true))
}

#[derive(Debug, Deserialize)]
struct TransformLayoutBody {
    transforms: serde_json::Map<String, serde_json::Value>,
}

/// The members of `transforms` plenum acts on; the rest (indicators, streaming,
/// free-form overlay) is accepted and ignored.
#[derive(Debug, Default, Deserialize)]
struct Transforms {
    layout: Option<String>,
    host_layout: Option<String>,
    guest_layout: Option<String>,
    enable_overlay_text: Option<bool>,
}

/// `POST …/transform_layout {"transforms": {…}}`: empty transforms go back to the
/// default; an unknown layout name answers `result: false` and changes nothing.
pub(crate) async fn transform_layout(
    State(state): State<AppState>,
    session: Session,
    bytes: Bytes,
) -> Result<Response, ClientError> {
    const SHAPE: &str = r#"{"transforms": {"layout": "1:7"}}"#;
    let TransformLayoutBody { transforms } = body::parse(&bytes, SHAPE)?;
    let reset = transforms.is_empty();
    let t: Transforms =
        serde_json::from_value(serde_json::Value::Object(transforms)).map_err(|_| {
            ClientError::BadRequest(format!("request body must be JSON like {SHAPE}").into())
        })?;
    let parse = |name: Option<String>| name.map(|n| n.parse::<Layout>()).transpose();
    let (Ok(layout), Ok(host_layout), Ok(guest_layout)) =
        (parse(t.layout), parse(t.host_layout), parse(t.guest_layout))
    else {
        return Ok(success(false));
    };
    let command = Command::TransformLayout {
        layout,
        host_layout,
        guest_layout,
        overlay_text: t.enable_overlay_text,
        reset,
    };
    run(&state, &session, command).await?;
    Ok(success(true))
}

#[derive(Debug, Deserialize)]
pub(crate) struct AnnotateQuery {
    annotate: Option<String>,
}

#[derive(Debug, Serialize)]
struct AnnotatedLayout {
    name: &'static str,
    tags: &'static [&'static str],
}

fn tags(layout: Layout) -> &'static [&'static str] {
    match layout {
        Layout::Adaptive => &["adaptive"],
        Layout::OneMain => &["speaker"],
        Layout::OnePlusSeven | Layout::OnePlusTwentyOne | Layout::TwoPlusTwentyOne => {
            &["speaker", "thumbnails"]
        }
        Layout::Grid2x2 => &["grid"],
    }
}

/// `GET …/available_layouts?annotate=true|false`.
pub(crate) async fn available_layouts(
    _session: Session,
    query: Result<Query<AnnotateQuery>, QueryRejection>,
) -> Response {
    let annotate = query
        .ok()
        .and_then(|Query(q)| q.annotate)
        .is_some_and(|a| a.eq_ignore_ascii_case("true"));
    if annotate {
        success(
            ALL_LAYOUTS
                .iter()
                .map(|&l| AnnotatedLayout {
                    name: l.name(),
                    tags: tags(l),
                })
                .collect::<Vec<_>>(),
        )
    } else {
        success(ALL_LAYOUTS.iter().map(|l| l.name()).collect::<Vec<_>>())
    }
}

/// `GET …/layout_svgs`: `{name: "<svg …>"}` for every layout.
pub(crate) async fn layout_svgs(_session: Session) -> Response {
    let svgs: serde_json::Map<String, serde_json::Value> = ALL_LAYOUTS
        .iter()
        .map(|&l| (l.name().to_owned(), layout_svg::svg(l).into()))
        .collect();
    success(svgs)
}

/// The method-less fallback's answer inside the client API.
pub(crate) async fn not_found() -> impl IntoResponse {
    ClientError::NotFound(super::error::NOT_FOUND.into())
}
