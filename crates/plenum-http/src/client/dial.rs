//! Add participant: `conferences/{alias}/dial` and `participants/{uuid}/dial` (a Host
//! rings a registered device into the meeting) and the Hosts' device directory
//! `conferences/{alias}/directory?q=` (a plenum extension: the SDKs' directory needs a
//! registration token, which a meeting's Host does not hold).

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use plenum_core::{ParticipantId, Role};
use serde::{Deserialize, Serialize};

use super::backend::{DialError, DialOrder, DialableDevice};
use super::body;
use super::error::{ClientError, RESOURCE_UNAVAILABLE, success};
use super::registration::search_text;
use super::session::{Session, Target};
use super::token::clean_display_name;
use crate::AppState;

/// The answer when nothing plenum can ring answers to a destination (#pex152).
const NO_GATEWAY: &str = "Gateway dial out failed";
/// The answer when a device alias has no live registration.
const NOT_REGISTERED: &str = "Device not registered";

const DIAL_SHAPE: &str =
    r#"{"role": "GUEST", "destination": "alice@example.com", "protocol": "auto"}"#;

#[derive(Debug, Deserialize)]
struct DialBody {
    role: String,
    destination: String,
    #[serde(default)]
    protocol: Option<String>,
    #[serde(default)]
    remote_display_name: Option<String>,
    #[serde(default)]
    source_display_name: Option<String>,
    #[serde(default)]
    keep_conference_alive: Option<String>,
}

impl From<DialError> for ClientError {
    fn from(error: DialError) -> ClientError {
        match error {
            DialError::Refused(refusal) => ClientError::Refused(refusal),
            DialError::NotRegistered => ClientError::Forbidden(NOT_REGISTERED.into()),
            DialError::NoGateway => ClientError::Forbidden(NO_GATEWAY.into()),
            DialError::OutOfResource => ClientError::Unavailable(RESOURCE_UNAVAILABLE.into()),
            DialError::InvalidToken => ClientError::InvalidToken,
        }
    }
}

/// A name from the body, cleaned as display names are (controls and invisible
/// formatting removed, capped); `None` when absent or blank.
fn name(value: Option<String>) -> Option<String> {
    value
        .filter(|v| !v.trim().is_empty())
        .map(|v| clean_display_name(&v))
}

/// Reads a dial body into an order. Protocols other than `auto` (SIP, H.323, RTMP,
/// Lync) have no gateway in plenum: they get the honest refusal.
fn order(bytes: &Bytes) -> Result<DialOrder, ClientError> {
    let dial: DialBody = body::parse(bytes, DIAL_SHAPE)?;
    let role = match dial.role.to_ascii_uppercase().as_str() {
        "HOST" => Role::Host,
        "GUEST" => Role::Guest,
        _ => {
            return Err(ClientError::BadRequest("role must be HOST or GUEST".into()));
        }
    };
    let destination = dial.destination.trim().to_owned();
    if destination.is_empty() || destination.len() > 250 {
        return Err(ClientError::BadRequest(
            "destination must be the alias to call (1-250 bytes)".into(),
        ));
    }
    match dial
        .protocol
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("auto") | Some("") => {}
        Some("sip" | "h323" | "rtmp" | "mssip") => {
            return Err(ClientError::Forbidden(NO_GATEWAY.into()));
        }
        Some(_) => {
            return Err(ClientError::BadRequest(
                "protocol must be one of auto, sip, h323, rtmp, mssip".into(),
            ));
        }
    }
    // The SDK's default is keep_conference_alive_if_multiple: as plenum does not count
    // such participants apart, they keep it alive like any caller; only `never` does not.
    let keeps_alive = match dial.keep_conference_alive.as_deref() {
        None | Some("keep_conference_alive") | Some("keep_conference_alive_if_multiple") => true,
        Some("keep_conference_alive_never") => false,
        Some(_) => {
            return Err(ClientError::BadRequest(
                "keep_conference_alive must be keep_conference_alive, keep_conference_alive_if_multiple or keep_conference_alive_never".into(),
            ));
        }
    };
    Ok(DialOrder {
        destination,
        role,
        display_name: name(dial.remote_display_name),
        caller_name: name(dial.source_display_name),
        keeps_alive,
    })
}

/// `POST conferences/{alias}/dial`: result `["<new participant uuid>"]`.
pub(crate) async fn conference(
    State(state): State<AppState>,
    session: Session,
    bytes: Bytes,
) -> Result<Response, ClientError> {
    let order = order(&bytes)?;
    let id = state.client.dial(&session.caller, order).await?;
    Ok(success([id.to_string()]))
}

/// `POST participants/{uuid}/dial`: the same, from the Host's own participant.
pub(crate) async fn participant(
    State(state): State<AppState>,
    session: Session,
    Target(target): Target,
    bytes: Bytes,
) -> Result<Response, ClientError> {
    if target != session.caller.participant {
        return Err(plenum_core::Refusal::SelfOnly.into());
    }
    let order = order(&bytes)?;
    let id: ParticipantId = state.client.dial(&session.caller, order).await?;
    Ok(success([id.to_string()]))
}

#[derive(Debug, Serialize)]
struct DialableDeviceDto {
    alias: String,
    description: String,
    registered: bool,
}

impl From<DialableDevice> for DialableDeviceDto {
    fn from(d: DialableDevice) -> DialableDeviceDto {
        DialableDeviceDto {
            alias: d.alias,
            description: d.description,
            registered: d.registered,
        }
    }
}

/// `GET conferences/{alias}/directory?q=`: devices a Host can add.
pub(crate) async fn directory(
    State(state): State<AppState>,
    session: Session,
    uri: axum::http::Uri,
) -> Result<Response, ClientError> {
    let query = search_text(&uri)?;
    let devices = state
        .client
        .dialable_devices(&session.caller, &query)
        .await?;
    Ok(success(
        devices
            .into_iter()
            .map(DialableDeviceDto::from)
            .collect::<Vec<_>>(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &'static str) -> Result<DialOrder, ClientError> {
        order(&Bytes::from_static(s.as_bytes()))
    }

    #[test]
    fn a_dial_body_reads_role_destination_and_keep_alive() {
        let o = parse(r#"{"role":"guest","destination":" alice@example.com ","protocol":"auto","remote_display_name":"Alice","keep_conference_alive":"keep_conference_alive_never"}"#)
            .expect("valid");
        assert_eq!(o.role, Role::Guest);
        assert_eq!(o.destination, "alice@example.com");
        assert_eq!(o.display_name.as_deref(), Some("Alice"));
        assert!(!o.keeps_alive);
        let o =
            parse(r#"{"role":"HOST","destination":"bob","remote_display_name":"Bo\u200bb\u0007"}"#)
                .expect("valid");
        assert_eq!(
            o.display_name.as_deref(),
            Some("Bob"),
            "cleaned like display names"
        );
        let o = parse(r#"{"role":"HOST","destination":"bob"}"#).expect("protocol is optional");
        assert_eq!(o.role, Role::Host);
        assert!(o.keeps_alive);
    }

    #[test]
    fn protocols_without_a_gateway_get_the_honest_refusal() {
        for protocol in ["sip", "h323", "rtmp", "mssip", "SIP"] {
            let body = format!(r#"{{"role":"GUEST","destination":"x@y","protocol":"{protocol}"}}"#);
            let result = order(&Bytes::from(body));
            assert_eq!(
                result,
                Err(ClientError::Forbidden(NO_GATEWAY.into())),
                "{protocol}"
            );
        }
    }

    #[test]
    fn bad_dial_bodies_are_bad_requests() {
        for body in [
            r#"{"role":"chair","destination":"x"}"#,
            r#"{"role":"GUEST","destination":"  "}"#,
            r#"{"role":"GUEST"}"#,
            r#"{"role":"GUEST","destination":"x","protocol":"carrier-pigeon"}"#,
            r#"{"role":"GUEST","destination":"x","keep_conference_alive":"maybe"}"#,
        ] {
            assert!(
                matches!(parse(body), Err(ClientError::BadRequest(_))),
                "{body}"
            );
        }
    }
}
