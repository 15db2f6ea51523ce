//! The call group (§2.3, §4): a participant's own WebRTC media call — the `calls` offer,
//! trickled candidates, `ack`, renegotiation, hang-up, DTMF and statistics — and the
//! presentation stills (`presentation.jpeg`, `presentation_high.jpeg`), with the
//! per-endpoint mapping of [`CallError`] to the statuses the SDK accepts.

use std::borrow::Cow;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use plenum_core::ParticipantId;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tracing::{debug, warn};

use super::backend::{CallError, CallMedia, CallRequest, CallStatistics, StreamStatistics};
use super::body;
use super::error::{ClientError, success};
use super::session::{Session, Target, path_param};
use crate::AppState;

/// The reason of a `call_uuid` that names no call of the caller's (also a malformed one).
const CALL_NOT_FOUND: &str = "Call not found";

// === extractors ===

/// An authenticated request about the caller's own participant
/// (`participants/{uuid}/calls…`): calls are self-only, so another uuid is 403.
#[derive(Debug, Clone)]
pub(crate) struct Me {
    /// The caller, as its token says.
    session: Session,
    /// The participant in the path, equal to the caller's.
    participant: ParticipantId,
}

impl FromRequestParts<AppState> for Me {
    type Rejection = ClientError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Me, ClientError> {
        // The token first, as everywhere: a stranger learns nothing about the path.
        let session = Session::from_request_parts(parts, state).await?;
        let Target(participant) = Target::from_request_parts(parts, state).await?;
        if session.caller.participant != participant {
            return Err(ClientError::Forbidden(
                CallError::NotYours.to_string().into(),
            ));
        }
        Ok(Me {
            session,
            participant,
        })
    }
}

/// An authenticated request on one of the caller's calls
/// (`participants/{uuid}/calls/{call_uuid}/…`). A `call_uuid` that is not a uuid names
/// no call: 403 `Call not found`, like an unknown one (never axum's 400 rejection).
#[derive(Debug, Clone)]
pub(crate) struct OwnCall {
    /// The caller and its participant.
    me: Me,
    /// The call in the path (whether it exists is the backend's to say).
    call: uuid::Uuid,
}

impl FromRequestParts<AppState> for OwnCall {
    type Rejection = ClientError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<OwnCall, ClientError> {
        let me = Me::from_request_parts(parts, state).await?;
        let raw = path_param(parts, state, "call_uuid").await?;
        let call = uuid::Uuid::parse_str(raw.trim())
            .map_err(|_| ClientError::Forbidden(CALL_NOT_FOUND.into()))?;
        Ok(OwnCall { me, call })
    }
}

// === errors ===

/// The endpoints of the call group; each accepts its own set of failure statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Calls,
    NewCandidate,
    Ack,
    Update,
    Disconnect,
    Dtmf,
    Statistics,
}

impl Endpoint {
    /// The status of a media engine failure: 500 unless the SDK lists another 5xx for
    /// the endpoint (`new_candidate` and call `disconnect` accept only 502).
    fn failed_status(self) -> StatusCode {
        match self {
            Endpoint::NewCandidate | Endpoint::Disconnect => StatusCode::BAD_GATEWAY,
            Endpoint::Calls
            | Endpoint::Ack
            | Endpoint::Update
            | Endpoint::Dtmf
            | Endpoint::Statistics => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The status of a media engine that did not answer in time: 504 for `calls`, 502
    /// for `new_candidate` (its only 5xx), 503 elsewhere.
    fn timeout_status(self) -> StatusCode {
        match self {
            Endpoint::Calls => StatusCode::GATEWAY_TIMEOUT,
            Endpoint::NewCandidate => StatusCode::BAD_GATEWAY,
            Endpoint::Ack
            | Endpoint::Update
            | Endpoint::Disconnect
            | Endpoint::Dtmf
            | Endpoint::Statistics => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// A call endpoint's failure: the usual JSON envelope, or a `text/plain` body for the
/// statuses the SDK reads as text (§5.1).
#[derive(Debug)]
pub(crate) enum CallFailure {
    /// `{"status":"failed","result":"<reason>"}` with its status.
    Envelope(ClientError),
    /// A text body with this status.
    Text(StatusCode, Cow<'static, str>),
}

impl From<ClientError> for CallFailure {
    fn from(error: ClientError) -> CallFailure {
        CallFailure::Envelope(error)
    }
}

impl IntoResponse for CallFailure {
    fn into_response(self) -> Response {
        match self {
            CallFailure::Envelope(error) => error.into_response(),
            // A `String` body is sent as `text/plain; charset=utf-8`.
            CallFailure::Text(status, text) => (status, text.into_owned()).into_response(),
        }
    }
}

/// Maps a backend error to the answer `endpoint` gives. Refusals are 403 envelopes with
/// their text; a malformed offer is 400 text on `calls` and a 403 envelope elsewhere;
/// media engine failures are text 5xx with a generic body, their cause logged here once.
fn failure(endpoint: Endpoint, call: Option<uuid::Uuid>, error: CallError) -> CallFailure {
    match error {
        CallError::InvalidToken => ClientError::InvalidToken.into(),
        CallError::NotYours | CallError::UnknownCall => {
            ClientError::Forbidden(error.to_string().into()).into()
        }
        CallError::Refused(reason) => ClientError::Forbidden(reason.into()).into(),
        CallError::BadRequest(message) if endpoint == Endpoint::Calls => {
            CallFailure::Text(StatusCode::BAD_REQUEST, message.into())
        }
        CallError::BadRequest(message) => ClientError::Forbidden(message.into()).into(),
        CallError::Failed(cause) => {
            let status = endpoint.failed_status();
            warn!(?endpoint, ?call, %cause, "media call request failed");
            CallFailure::Text(status, status.canonical_reason().unwrap_or("Error").into())
        }
        CallError::Timeout => {
            warn!(?endpoint, ?call, "media engine timed out");
            CallFailure::Text(endpoint.timeout_status(), error.to_string().into())
        }
    }
}

// === calls ===

/// The `calls` body. Every member is optional here so each absence gets its own message;
/// unknown members (`fecc_supported`, RTMP's `streaming`, `bandwidth`) are ignored.
#[derive(Debug, Deserialize)]
struct CallsBody {
    call_type: Option<String>,
    sdp: Option<String>,
    present: Option<String>,
    media_type: Option<String>,
}

const CALLS_SHAPE: &str = r#"{"call_type": "WEBRTC", "sdp": "v=0…"}"#;

impl CallsBody {
    /// The request for the backend; a `calls` 400 is read as text, hence the text here.
    fn into_request(self) -> Result<CallRequest, CallFailure> {
        let bad = |text: &'static str| CallFailure::Text(StatusCode::BAD_REQUEST, text.into());
        match self.call_type.as_deref().map(str::trim) {
            Some(t) if t.eq_ignore_ascii_case("WEBRTC") => {}
            Some(t) if t.eq_ignore_ascii_case("RTMP") => {
                return Err(bad("RTMP calls are not supported"));
            }
            _ => return Err(bad("call_type must be WEBRTC")),
        }
        let sdp = match self.sdp {
            Some(sdp) if !sdp.trim().is_empty() => sdp,
            _ => return Err(bad("sdp must be the WebRTC offer")),
        };
        let media = match self.media_type.as_deref().map(str::trim) {
            None | Some("video") => CallMedia::Video,
            Some("video-only") => CallMedia::VideoOnly,
            Some("audio") => CallMedia::Audio,
            Some(_) => return Err(bad("media_type must be video, video-only or audio")),
        };
        let present = match self.present.as_deref().map(str::trim) {
            None => None,
            Some("send") => Some(true),
            Some("receive") => Some(false),
            Some(_) => return Err(bad("present must be send or receive")),
        };
        Ok(CallRequest {
            sdp,
            media,
            present,
        })
    }
}

/// `POST …/participants/{me}/calls`: answers the browser's offer,
/// `result {"call_uuid", "sdp"}`.
pub(crate) async fn open(
    State(state): State<AppState>,
    me: Me,
    bytes: Bytes,
) -> Result<Response, CallFailure> {
    let request = body::parse::<CallsBody>(&bytes, CALLS_SHAPE)
        .map_err(|e| CallFailure::Text(StatusCode::BAD_REQUEST, e.to_string().into()))?
        .into_request()?;
    debug!(
        participant = %me.participant,
        media = ?request.media,
        present = ?request.present,
        offer_bytes = request.sdp.len(),
        "call offer"
    );
    let answer = state
        .client
        .open_call(&me.session.caller, me.participant, request)
        .await
        .map_err(|e| failure(Endpoint::Calls, None, e))?;
    debug!(participant = %me.participant, call = %answer.call, "call answered");
    Ok(success(CallAnswerDto {
        call_uuid: answer.call.to_string(),
        sdp: answer.sdp,
    }))
}

/// The `calls` result. `offer_ignored` and `turn` are left out: plenum is no direct-media
/// peer (the TURN servers for the call with the node go out in the token result).
#[derive(Debug, Serialize)]
struct CallAnswerDto {
    call_uuid: String,
    sdp: String,
}

// === …/calls/{call_uuid}/… ===

#[derive(Debug, Deserialize)]
struct CandidateBody {
    candidate: String,
    #[serde(default)]
    mid: Option<String>,
}

/// `POST …/new_candidate {"candidate", "mid"?, "ufrag"?, "pwd"?}`: **N**. An empty
/// `candidate` is the end-of-candidates marker and is passed on as it is.
pub(crate) async fn new_candidate(
    State(state): State<AppState>,
    own: OwnCall,
    bytes: Bytes,
) -> Result<Response, CallFailure> {
    let CandidateBody { candidate, mid } =
        body::parse(&bytes, r#"{"candidate": "candidate:…", "mid": "0"}"#)?;
    state
        .client
        .add_candidate(
            &own.me.session.caller,
            own.me.participant,
            own.call,
            candidate,
            mid,
        )
        .await
        .map_err(|e| failure(Endpoint::NewCandidate, Some(own.call), e))?;
    Ok(success(()))
}

/// The `ack` body: `sdp` answers a server offer, which plenum never makes, so it is
/// only noted.
#[derive(Debug, Default, Deserialize)]
struct AckBody {
    sdp: Option<String>,
    offer_ignored: Option<bool>,
}

/// `POST …/ack` (`{}`, `{"sdp"?, "offer_ignored"?}` or no body): media may start; sent
/// again after every `update`. **B** `true`. A failed `ack` ends the SDK's session, so
/// its body is read leniently.
pub(crate) async fn ack(
    State(state): State<AppState>,
    own: OwnCall,
    bytes: Bytes,
) -> Result<Response, CallFailure> {
    let AckBody { sdp, offer_ignored } = body::parse(&bytes, "{}").unwrap_or_default();
    debug!(
        call = %own.call,
        answer_bytes = sdp.as_ref().map(String::len),
        ?offer_ignored,
        "call ack"
    );
    state
        .client
        .ack_call(&own.me.session.caller, own.me.participant, own.call)
        .await
        .map_err(|e| failure(Endpoint::Ack, Some(own.call), e))?;
    Ok(success(true))
}

#[derive(Debug, Deserialize)]
struct UpdateBody {
    #[serde(default)]
    sdp: Option<String>,
}

/// `POST …/update {"sdp"?, "fecc_supported"?}`: a renegotiation; `result` is the answer
/// SDP. Without an offer there is nothing to apply: `result ""` (the SDK's "nothing
/// applied"), without asking the backend.
pub(crate) async fn update(
    State(state): State<AppState>,
    own: OwnCall,
    bytes: Bytes,
) -> Result<Response, CallFailure> {
    let UpdateBody { sdp } = body::parse(&bytes, r#"{"sdp": "v=0…"}"#)?;
    // Without an offer there is nothing to negotiate; the node still checks the call.
    let sdp = sdp.filter(|s| !s.trim().is_empty()).unwrap_or_default();
    debug!(call = %own.call, offer_bytes = sdp.len(), "call update");
    let answer = state
        .client
        .update_call(&own.me.session.caller, own.me.participant, own.call, sdp)
        .await
        .map_err(|e| failure(Endpoint::Update, Some(own.call), e))?;
    Ok(success(answer))
}

/// Call `POST …/disconnect`: hangs up the media call (the participant stays). **N**.
pub(crate) async fn disconnect(
    State(state): State<AppState>,
    own: OwnCall,
) -> Result<Response, CallFailure> {
    state
        .client
        .disconnect_call(&own.me.session.caller, own.me.participant, own.call)
        .await
        .map_err(|e| failure(Endpoint::Disconnect, Some(own.call), e))?;
    Ok(success(()))
}

#[derive(Debug, Deserialize)]
struct DtmfBody {
    digits: String,
}

/// Call `POST …/dtmf {"digits"}`: tones into the conference. **B** `true`; the core's
/// refusal (bad digits) is a 403 with its text, as on the participant `dtmf`.
pub(crate) async fn dtmf(
    State(state): State<AppState>,
    own: OwnCall,
    bytes: Bytes,
) -> Result<Response, CallFailure> {
    let DtmfBody { digits } = body::parse(&bytes, r#"{"digits": "1234#"}"#)?;
    state
        .client
        .call_dtmf(&own.me.session.caller, own.me.participant, own.call, digits)
        .await
        .map_err(|e| failure(Endpoint::Dtmf, Some(own.call), e))?
        .map_err(ClientError::from)?;
    Ok(success(true))
}

/// `POST …/statistics {"audio"?, "video"?, "presentation"?}`: the client's view of its
/// call, every interval. **N**. Read leniently: unknown members are ignored and a member
/// of the wrong type reads as absent; only a body that is not a JSON object is a 400.
pub(crate) async fn statistics(
    State(state): State<AppState>,
    own: OwnCall,
    bytes: Bytes,
) -> Result<Response, CallFailure> {
    const SHAPE: &str = r#"{"audio": {"rx_bitrate": 32}}"#;
    let Value::Object(report) = body::parse::<Value>(&bytes, SHAPE)? else {
        return Err(ClientError::BadRequest(
            format!("request body must be JSON like {SHAPE}").into(),
        )
        .into());
    };
    let statistics = parse_statistics(&report);
    state
        .client
        .call_statistics(
            &own.me.session.caller,
            own.me.participant,
            own.call,
            statistics,
        )
        .await
        .map_err(|e| failure(Endpoint::Statistics, Some(own.call), e))?;
    Ok(success(()))
}

/// The report's `audio`, `video` and `presentation` objects (anything else there
/// reads as absent).
fn parse_statistics(report: &Map<String, Value>) -> CallStatistics {
    let stream = |name: &str| match report.get(name) {
        Some(Value::Object(fields)) => Some(parse_stream(fields)),
        _ => None,
    };
    CallStatistics {
        audio: stream("audio"),
        video: stream("video"),
        presentation: stream("presentation"),
    }
}

/// One stream's figures; each member of the wrong type reads as `None`.
fn parse_stream(fields: &Map<String, Value>) -> StreamStatistics {
    let number = |name: &str| fields.get(name).and_then(Value::as_f64);
    let text = |name: &str| fields.get(name).and_then(Value::as_str).map(str::to_owned);
    // Counters are integers; a float with no fraction (some stats APIs give 12.0) is
    // one too.
    let count = |name: &str| {
        let value = fields.get(name)?;
        value.as_u64().or_else(|| {
            value
                .as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64)
                .map(|f| f as u64)
        })
    };
    StreamStatistics {
        rx_bitrate_kbps: number("rx_bitrate"),
        tx_bitrate_kbps: number("tx_bitrate"),
        rx_codec: text("rx_codec"),
        tx_codec: text("tx_codec"),
        rx_fps: number("rx_fps"),
        tx_fps: number("tx_fps"),
        rx_resolution: text("rx_resolution"),
        tx_resolution: text("tx_resolution"),
        rx_packets_received: count("rx_packets_received"),
        rx_packets_lost: count("rx_packets_lost"),
        tx_packets_sent: count("tx_packets_sent"),
        rx_historic_packet_loss: number("rx_historic_packet_loss"),
        rx_windowed_packet_loss: number("rx_windowed_packet_loss"),
        rx_jitter_ms: number("rx_jitter"),
    }
}

// === presentation stills ===

/// `GET …/presentation.jpeg` (`high`: `…/presentation_high.jpeg`), token as header or
/// `?token=`, `?id=<event id>` ignored: the latest still, 200 `image/jpeg` never
/// cached; 404 `No image available` when nobody presents.
pub(crate) fn presentation(high: bool) -> MethodRouter<AppState> {
    get(
        move |State(state): State<AppState>, session: Session| async move {
            match state
                .client
                .presentation_jpeg(&session.caller, high)
                .await?
            {
                Some(jpeg) => Ok((
                    [
                        (header::CONTENT_TYPE, "image/jpeg"),
                        (header::CACHE_CONTROL, "no-store"),
                    ],
                    jpeg,
                )
                    .into_response()),
                None => Err(ClientError::NotFound("No image available".into())),
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(json: Value) -> StreamStatistics {
        let Value::Object(fields) = json else {
            panic!("test input is an object")
        };
        parse_stream(&fields)
    }

    #[test]
    fn stream_figures_of_the_wrong_type_read_as_absent() {
        let parsed = stream(serde_json::json!({
            "rx_bitrate": 512.5,
            "tx_bitrate": "fast",
            "rx_codec": "opus",
            "tx_codec": 7,
            "rx_packets_received": 1200,
            "rx_packets_lost": 3.0,
            "tx_packets_sent": -1,
            "rx_jitter": 4,
            "tx_rb_jitter": 9,
        }));
        assert_eq!(
            parsed,
            StreamStatistics {
                rx_bitrate_kbps: Some(512.5),
                rx_codec: Some("opus".into()),
                rx_packets_received: Some(1200),
                rx_packets_lost: Some(3),
                rx_jitter_ms: Some(4.0),
                ..StreamStatistics::default()
            }
        );
    }

    #[test]
    fn calls_bodies_become_requests_or_text_400s() {
        let check = |json: &str, expected: Result<(CallMedia, Option<bool>), &str>| {
            let body: CallsBody = serde_json::from_str(json).expect("test body");
            let got = match body.into_request() {
                Ok(r) => Ok((r.media, r.present)),
                Err(CallFailure::Text(StatusCode::BAD_REQUEST, text)) => Err(text.into_owned()),
                Err(other) => panic!("{json}: {other:?}"),
            };
            assert_eq!(got, expected.map_err(str::to_owned), "{json}");
        };
        check(
            r#"{"call_type":"WEBRTC","sdp":"v=0"}"#,
            Ok((CallMedia::Video, None)),
        );
        check(
            r#"{"call_type":"WEBRTC","sdp":"v=0","media_type":"audio","present":"receive"}"#,
            Ok((CallMedia::Audio, Some(false))),
        );
        check(
            r#"{"call_type":"WEBRTC","sdp":"v=0","media_type":"video-only","present":"send"}"#,
            Ok((CallMedia::VideoOnly, Some(true))),
        );
        check(
            r#"{"call_type":"RTMP","sdp":"v=0"}"#,
            Err("RTMP calls are not supported"),
        );
        check(r#"{"sdp":"v=0"}"#, Err("call_type must be WEBRTC"));
        check(
            r#"{"call_type":"WEBRTC","sdp":" "}"#,
            Err("sdp must be the WebRTC offer"),
        );
        check(
            r#"{"call_type":"WEBRTC","sdp":"v=0","media_type":"hologram"}"#,
            Err("media_type must be video, video-only or audio"),
        );
        check(
            r#"{"call_type":"WEBRTC","sdp":"v=0","present":"both"}"#,
            Err("present must be send or receive"),
        );
    }
}
