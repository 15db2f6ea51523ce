//! The participant group (§2.2, `participants/{uuid}/…`): controls on one participant,
//! private chat, DTMF, transfer, the presentation floor, and the self-only client hints.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{MethodRouter, post};
use plenum_core::{Command, ParticipantId, Refusal, Role};
use serde::Deserialize;

use super::backend::TransferError;
use super::body;
use super::conference::{MESSAGE_SHAPE, MessageBody, run};
use super::error::{ClientError, success};
use super::session::{Session, Target};
use crate::AppState;

/// Makes the command for a participant action from its target.
pub(crate) type MakeCommand = fn(ParticipantId) -> Command;

/// A body-less POST that runs the command made for the target and answers **B** `true`.
pub(crate) fn action(make: MakeCommand) -> MethodRouter<AppState> {
    post(
        move |State(state): State<AppState>, session: Session, Target(target): Target| async move {
            run(&state, &session, make(target))
                .await
                .map(|()| success(true))
        },
    )
}

/// A body-less POST only a participant may make about itself, with nothing for the
/// conference to do (client hints): **B** `true`.
pub(crate) fn self_hint() -> MethodRouter<AppState> {
    post(|session: Session, Target(target): Target| async move {
        require_self(&session, target).map(|()| success(true))
    })
}

fn require_self(session: &Session, target: ParticipantId) -> Result<(), ClientError> {
    if session.caller.participant == target {
        Ok(())
    } else {
        Err(Refusal::SelfOnly.into())
    }
}

/// `take_floor` / `release_floor`: **N** (`result: null`) on success.
pub(crate) fn floor(command: Command) -> MethodRouter<AppState> {
    post(
        move |State(state): State<AppState>, session: Session, Target(target): Target| async move {
            require_self(&session, target)?;
            run(&state, &session, command).await?;
            Ok::<_, ClientError>(success(()))
        },
    )
}

#[derive(Debug, Deserialize)]
struct DtmfBody {
    digits: String,
}

/// `POST …/dtmf {"digits"}`: tones toward the target's leg.
pub(crate) async fn dtmf(
    State(state): State<AppState>,
    session: Session,
    Target(target): Target,
    bytes: Bytes,
) -> Result<Response, ClientError> {
    let DtmfBody { digits } = body::parse(&bytes, r#"{"digits": "1234#"}"#)?;
    run(&state, &session, Command::SendDtmf { target, digits }).await?;
    Ok(success(true))
}

#[derive(Debug, Deserialize)]
struct OverlayTextBody {
    text: String,
}

/// `POST …/overlaytext {"text"}`.
pub(crate) async fn overlay_text(
    State(state): State<AppState>,
    session: Session,
    Target(target): Target,
    bytes: Bytes,
) -> Result<Response, ClientError> {
    let OverlayTextBody { text } = body::parse(&bytes, r#"{"text": "…"}"#)?;
    run(&state, &session, Command::SetOverlayText(target, text)).await?;
    Ok(success(true))
}

#[derive(Debug, Deserialize)]
struct RoleBody {
    role: String,
}

/// `POST …/role {"role": "chair"|"guest"}`.
pub(crate) async fn role(
    State(state): State<AppState>,
    session: Session,
    Target(target): Target,
    bytes: Bytes,
) -> Result<Response, ClientError> {
    const SHAPE: &str = r#"{"role": "chair"}"#;
    let RoleBody { role } = body::parse(&bytes, SHAPE)?;
    let role = match role.trim().to_ascii_lowercase().as_str() {
        "chair" => Role::Host,
        "guest" => Role::Guest,
        _ => {
            return Err(ClientError::BadRequest(
                "role must be chair or guest".into(),
            ));
        }
    };
    run(&state, &session, Command::SetRole(target, role)).await?;
    Ok(success(true))
}

#[derive(Debug, Deserialize)]
struct TransferBody {
    role: String,
    conference_alias: String,
    #[serde(default)]
    pin: Option<String>,
}

/// `POST …/transfer {"role": "host"|"guest", "conference_alias", "pin"?}`.
pub(crate) async fn transfer(
    State(state): State<AppState>,
    session: Session,
    Target(target): Target,
    bytes: Bytes,
) -> Result<Response, ClientError> {
    const SHAPE: &str = r#"{"role": "guest", "conference_alias": "…"}"#;
    let failed =
        || ClientError::Forbidden(plenum_core::DisconnectReason::TransferFailed.text().into());
    let TransferBody {
        role,
        conference_alias,
        pin,
    } = body::parse(&bytes, SHAPE)?;
    let role = match role.trim().to_ascii_lowercase().as_str() {
        "host" => Role::Host,
        "guest" => Role::Guest,
        _ => return Err(ClientError::BadRequest("role must be host or guest".into())),
    };
    let alias = conference_alias.trim().to_owned();
    if alias.is_empty() {
        return Err(failed());
    }
    let pin = pin.filter(|p| !p.trim().is_empty());
    match state
        .client
        .transfer(&session.caller, target, alias, role, pin)
        .await
    {
        Ok(()) => Ok(success(true)),
        Err(TransferError::Refused(refusal)) => Err(refusal.into()),
        Err(TransferError::Failed) => Err(failed()),
    }
}

/// `POST …/message {"type","payload"}`: a private message to the target.
pub(crate) async fn message(
    State(state): State<AppState>,
    session: Session,
    Target(target): Target,
    bytes: Bytes,
) -> Result<Response, ClientError> {
    let (kind, payload) = body::parse::<MessageBody>(&bytes, MESSAGE_SHAPE)?.into_parts()?;
    let command = Command::SendMessage {
        to: Some(target),
        kind,
        payload,
    };
    run(&state, &session, command).await?;
    Ok(success(true))
}

#[derive(Debug, Deserialize)]
struct AspectRatioBody {
    #[serde(default)]
    aspect_ratio: Option<f64>,
}

/// `POST …/preferred_aspect_ratio {"aspect_ratio"?}`: accepted (self only); the node
/// composes one mix, so it changes nothing yet.
pub(crate) async fn preferred_aspect_ratio(
    session: Session,
    Target(target): Target,
    bytes: Bytes,
) -> Result<Response, ClientError> {
    require_self(&session, target)?;
    let AspectRatioBody { aspect_ratio } = body::parse(&bytes, r#"{"aspect_ratio": 1.78}"#)?;
    tracing::debug!(participant = %target, ?aspect_ratio, "preferred aspect ratio");
    Ok(success(true))
}

/// `GET …/avatar.jpg`: plenum keeps no pictures.
pub(crate) async fn avatar(_session: Session) -> ClientError {
    ClientError::NotFound("No image available".into())
}

/// `show_live_captions` / `hide_live_captions`: conferences advertise
/// `live_captions_available: false`, so the request is refused (403 is a listed status:
/// the app sees the reason).
pub(crate) async fn live_captions(_session: Session, _target: Target) -> ClientError {
    ClientError::Forbidden("live captions are not available".into())
}
