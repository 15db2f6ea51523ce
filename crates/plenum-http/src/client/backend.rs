//! The contract between the client REST API v2 and the node: what the HTTP layer asks
//! (tokens, event feeds, commands) and what the node answers. The node implements
//! [`ClientBackend`]; handler tests fake it.

use std::net::IpAddr;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use plenum_core::{
    Command, ConferenceSnapshot, DisconnectReason, ParticipantId, PinInput, Published, Refusal,
    Role, Secret, WallClock,
};
use tokio::sync::broadcast;

use super::theme::Theme;

mod registration;
pub use registration::{
    DIRECTORY_LIMIT, DeviceCredentials, DialError, DialOrder, DialableDevice, DirectoryEntry,
    DirectoryError, RegisterRefusal, RegisterRequest, RegistrationBackend, RegistrationFeed,
    RegistrationGrant, RegistrationNotice,
};

/// How long a token lives without refresh, in seconds (the client API's `expires`).
pub const TOKEN_LIFETIME_SECS: u64 = 120;

/// A `request_token` call, as parsed from the request.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// The conference alias from the path (percent-decoded).
    pub alias: String,
    /// The `pin` header.
    pub pin: PinInput,
    /// `display_name`, already trimmed and length-capped by the HTTP layer.
    pub display_name: String,
    /// `conference_extension` typed at a Virtual Reception.
    pub conference_extension: Option<String>,
    /// `token`: a one-time join ticket from a `refer` (transfer).
    pub join_ticket: Option<Secret>,
    /// `call_tag`, echoed in the result.
    pub call_tag: Option<String>,
    /// The client's address (PIN failure counting, logs).
    pub client_addr: IpAddr,
    /// The single sign-on fields (`chosen_idp`, `sso_token`, `sso_redirect_target`).
    pub sso: SsoRequest,
}

/// The single sign-on part of a `request_token` call; the SDK's literal `"none"` is
/// already taken as absent.
#[derive(Debug, Clone, Default)]
pub struct SsoRequest {
    /// `chosen_idp`: the uuid of the identity provider the user picked.
    pub chosen_idp: Option<String>,
    /// `sso_token`: the one-time token the sign-in handed back to the client.
    pub sso_token: Option<Secret>,
    /// `sso_redirect_target`: where the sign-in returns to, with the placeholder
    /// [`SSO_TOKEN_PLACEHOLDER`] where the token goes.
    pub redirect_target: Option<String>,
}

/// The placeholder in `sso_redirect_target` that the node replaces with the sign-in's
/// one-time token.
pub const SSO_TOKEN_PLACEHOLDER: &str = "__pexip-sso-token__";

/// An identity provider as clients see it (`idp` list, `redirect_idp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpChoice {
    /// The configured name, shown on the sign-in button.
    pub name: String,
    /// A stable id derived from the name (`chosen_idp`).
    pub uuid: uuid::Uuid,
}

/// A granted token and what the client needs to start its session.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    /// The session token (URL-safe, ≥ 128 bits of randomness).
    pub token: Secret,
    /// The participant this token acts as.
    pub participant: ParticipantId,
    /// The role granted.
    pub role: Role,
    /// Name as it will appear in the roster.
    pub display_name: String,
    /// The snapshot of the conference right after joining (service kind, chat switch,
    /// whether the participant waits).
    pub conference: ConferenceSnapshot,
    /// The STUN and TURN servers the client should use (`stun`, `turn`).
    pub ice: IceServers,
    /// The node's "route calls via registrar" switch (`route_via_registrar`): registered
    /// desktop clients place every call through the node they registered to.
    pub route_via_registrar: bool,
}

/// ICE servers offered to the client in the token result. Empty lists are left out of
/// the result: browsers reject an ICE configuration with an empty `stun` list
/// (client-api-v2 §9).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IceServers {
    /// STUN URLs (`stun:host[:port]`, `stuns:…`), one `{"url"}` entry each.
    pub stun: Vec<String>,
    /// TURN servers, each with its URLs and credentials.
    pub turn: Vec<TurnServer>,
}

/// A TURN server as the browser's `RTCIceServer` takes it. `Debug` hides the credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnServer {
    /// `turn:`/`turns:` URLs of one server (e.g. UDP and TLS).
    pub urls: Vec<String>,
    /// The TURN user name.
    pub username: String,
    /// The TURN password.
    pub credential: Secret,
}

/// Why no token was granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRefusal {
    /// A PIN is needed (403 PIN prompt); `guest_pin` says whether Guests have one too.
    PinRequired { guest_pin: bool },
    /// A Virtual Reception: send `conference_extension` (403 extension prompt).
    ExtensionRequired,
    /// Refused for a reason with its client text (403/404/503 by reason).
    Refused(DisconnectReason),
    /// Hosts of this room sign in: pick one of these identity providers (403 `idp`
    /// list); retry with `chosen_idp`.
    IdpRequired(Vec<IdpChoice>),
    /// Sign in at `url` (403 `redirect_url`); the sign-in ends at the redirect target
    /// with a one-time `sso_token`.
    SsoRedirect {
        /// The identity provider's authorization URL.
        url: String,
        /// The identity provider it leads to.
        idp: IdpChoice,
    },
}

/// The end of a sign-in at `GET /api/client/v2/oauth2_redirect?code&state`.
#[derive(Debug, Clone)]
pub struct SsoReturn {
    /// `code`: the authorization code.
    pub code: Secret,
    /// `state`: names the pending sign-in.
    pub state: String,
}

/// Why a sign-in could not be completed; each names the step that failed and never
/// carries a token, code or secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsoError {
    /// No sign-in is pending under this `state`: used already, too old, or made up.
    #[error("this sign-in link was already used or is too old; start again")]
    UnknownState,
    /// The identity provider's discovery document could not be fetched or read.
    #[error("the identity provider's discovery document could not be read: {0}")]
    Discovery(String),
    /// Exchanging the code for tokens at the identity provider failed.
    #[error("the token exchange with the identity provider failed: {0}")]
    TokenExchange(String),
    /// The ID token did not verify (issuer, audience, nonce, signature, expiry).
    #[error("the identity provider's ID token was not accepted: {0}")]
    IdToken(String),
    /// The ID token lacks the claim the configuration names.
    #[error(
        "the identity provider did not send the claim {0:?}, which the node is configured to use (display_name_claim/alias_claim)"
    )]
    ClaimMissing(String),
    /// Single sign-on is not set up on this node.
    #[error("single sign-on is not configured on this node")]
    NotConfigured,
}

/// A refreshed token.
#[derive(Debug, Clone)]
pub struct Refreshed {
    /// The new token; the old one stays valid for a short overlap.
    pub token: Secret,
    /// The participant's current role.
    pub role: Role,
}

/// The caller behind a valid token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The participant the token acts as.
    pub participant: ParticipantId,
    /// The conference instance it is in (for logs).
    pub conference: uuid::Uuid,
}

/// The token is unknown, expired, released, or belongs to another conference
/// (403 `Invalid token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Invalid token")]
pub struct InvalidToken;

/// A subscription to one participant's conference: the state to replay on open, then
/// every event after it, in order.
#[derive(Debug)]
pub struct EventFeed {
    /// The state when the subscription started (replayed as the sync burst).
    pub snapshot: ConferenceSnapshot,
    /// Every event after it. `Lagged` means the reader fell too far behind: end the
    /// stream; the client reconnects and re-syncs.
    pub events: broadcast::Receiver<Arc<Published>>,
}

/// Why a transfer did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferError {
    /// The caller may not, or the target is unknown (403 with this reason).
    Refused(Refusal),
    /// The destination alias, role or PIN is not valid (403 `transfer failed`).
    Failed,
}

/// What the client API needs from the node. Object-safe: the router holds an
/// `Arc<dyn ClientBackend>`; its media half is [`CallBackend`]. Every method taking a
/// token checks that the token is live and belongs to the conference reached through
/// `alias` (any of its aliases).
pub trait ClientBackend: CallBackend + RegistrationBackend + Send + Sync + 'static {
    /// `request_token`: admits (or refuses) a caller and issues its token.
    fn request_token(
        &self,
        request: TokenRequest,
    ) -> BoxFuture<'_, Result<TokenGrant, TokenRefusal>>;

    /// `refresh_token`: a new token for the same participant. A live token is never
    /// refused.
    fn refresh_token(
        &self,
        alias: &str,
        token: &str,
    ) -> BoxFuture<'_, Result<Refreshed, InvalidToken>>;

    /// `release_token`: the participant leaves (reason from the client, if any).
    fn release_token(
        &self,
        alias: &str,
        token: &str,
        reason: Option<String>,
    ) -> BoxFuture<'_, Result<(), InvalidToken>>;

    /// Resolves a token to its participant (cheap; no conference round trip).
    fn authenticate(&self, alias: &str, token: &str) -> Result<Caller, InvalidToken>;

    /// Opens an event feed for the caller's conference.
    fn events(&self, caller: &Caller) -> BoxFuture<'_, Result<EventFeed, InvalidToken>>;

    /// The caller's conference as it is now (`conference_status`, `participants`).
    fn snapshot(&self, caller: &Caller) -> BoxFuture<'_, Result<ConferenceSnapshot, InvalidToken>>;

    /// Runs a control command as the caller (`InvalidToken` if the conference is gone).
    fn command(
        &self,
        caller: &Caller,
        command: Command,
    ) -> BoxFuture<'_, Result<Result<(), Refusal>, InvalidToken>>;

    /// Moves `target` to the room behind `alias` as `role`, with the PIN the Host gave:
    /// checks the destination, issues a one-time join ticket and sends the target a
    /// `refer`.
    fn transfer(
        &self,
        caller: &Caller,
        target: ParticipantId,
        alias: String,
        role: Role,
        pin: Option<String>,
    ) -> BoxFuture<'_, Result<(), TransferError>>;

    /// Maps the core's instants to wall-clock time (`start_time`, `spotlight`, …).
    fn clock(&self) -> WallClock;

    /// Completes a sign-in (`oauth2_redirect`): exchanges the code, checks the ID token
    /// and answers the URL to send the browser to (the redirect target with a fresh
    /// one-time `sso_token`).
    fn complete_sso(&self, sign_in: SsoReturn) -> BoxFuture<'_, Result<String, SsoError>> {
        let _ = sign_in;
        Box::pin(async { Err(SsoError::NotConfigured) })
    }

    /// The theme of the caller's room (`theme/`), if its service names one.
    fn theme(&self, caller: &Caller) -> Option<Arc<Theme>> {
        let _ = caller;
        None
    }
}

// === media calls (client-api-v2 §2.3, §4) ===

/// What media a `calls` request intends to send (`media_type`; default `video`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallMedia {
    /// Audio and video (`video`, the default).
    Video,
    /// Video without audio (`video-only`).
    VideoOnly,
    /// Audio only (`audio`): the offer has no video m-lines.
    Audio,
}

/// A parsed `POST …/participants/{me}/calls` with `call_type: WEBRTC`.
#[derive(Debug, Clone)]
pub struct CallRequest {
    /// The browser's SDP offer.
    pub sdp: String,
    /// `media_type`.
    pub media: CallMedia,
    /// `present`: a legacy second call that only sends (`Some(true)`) or only receives
    /// (`Some(false)`) the presentation. `None` for a main call.
    pub present: Option<bool>,
}

/// The node's answer to a `calls` or `update` offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallAnswer {
    /// The call's id (`call_uuid`), for the `…/calls/{call_uuid}/…` endpoints.
    pub call: uuid::Uuid,
    /// The SDP answer.
    pub sdp: String,
}

/// Statistics a client reports (`…/calls/{id}/statistics`), one direction set per
/// stream kind; every field optional as on the wire.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamStatistics {
    pub rx_bitrate_kbps: Option<f64>,
    pub tx_bitrate_kbps: Option<f64>,
    pub rx_codec: Option<String>,
    pub tx_codec: Option<String>,
    pub rx_fps: Option<f64>,
    pub tx_fps: Option<f64>,
    pub rx_resolution: Option<String>,
    pub tx_resolution: Option<String>,
    pub rx_packets_received: Option<u64>,
    pub rx_packets_lost: Option<u64>,
    pub tx_packets_sent: Option<u64>,
    pub rx_historic_packet_loss: Option<f64>,
    pub rx_windowed_packet_loss: Option<f64>,
    pub rx_jitter_ms: Option<f64>,
}

/// One `statistics` report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallStatistics {
    pub audio: Option<StreamStatistics>,
    pub video: Option<StreamStatistics>,
    pub presentation: Option<StreamStatistics>,
}

impl CallStatistics {
    /// The report as the admin status API and the history show a participant's media
    /// quality: `{"reported_at": RFC 3339, "audio"|"video"|"presentation": {figures}}`,
    /// only the figures the client gave.
    pub fn quality_json(&self, reported_at: std::time::SystemTime) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        out.insert(
            "reported_at".into(),
            crate::timestamp::rfc3339(reported_at).into(),
        );
        for (kind, stream) in [
            ("audio", &self.audio),
            ("video", &self.video),
            ("presentation", &self.presentation),
        ] {
            if let Some(stream) = stream {
                out.insert(kind.into(), stream.quality_json());
            }
        }
        serde_json::Value::Object(out)
    }
}

impl StreamStatistics {
    fn quality_json(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        let mut put = |key: &str, value: Option<serde_json::Value>| {
            if let Some(value) = value {
                out.insert(key.into(), value);
            }
        };
        let number = |v: Option<f64>| v.filter(|v| v.is_finite()).map(serde_json::Value::from);
        let text = |v: &Option<String>| v.clone().map(serde_json::Value::from);
        put("rx_bitrate_kbps", number(self.rx_bitrate_kbps));
        put("tx_bitrate_kbps", number(self.tx_bitrate_kbps));
        put("rx_codec", text(&self.rx_codec));
        put("tx_codec", text(&self.tx_codec));
        put("rx_fps", number(self.rx_fps));
        put("tx_fps", number(self.tx_fps));
        put("rx_resolution", text(&self.rx_resolution));
        put("tx_resolution", text(&self.tx_resolution));
        put(
            "rx_packets_received",
            self.rx_packets_received.map(Into::into),
        );
        put("rx_packets_lost", self.rx_packets_lost.map(Into::into));
        put("tx_packets_sent", self.tx_packets_sent.map(Into::into));
        put(
            "rx_historic_packet_loss",
            number(self.rx_historic_packet_loss),
        );
        put(
            "rx_windowed_packet_loss",
            number(self.rx_windowed_packet_loss),
        );
        put("rx_jitter_ms", number(self.rx_jitter_ms));
        serde_json::Value::Object(out)
    }
}

/// Why a call operation failed. Each maps to the status the SDK expects
/// (client-api-v2 §2.2/§2.3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The token is not valid for this conference (403 `Invalid token`).
    #[error("Invalid token")]
    InvalidToken,
    /// The path names another participant than the token's (403).
    #[error("Not your call")]
    NotYours,
    /// No such call for this participant, or it has ended (403 `Call not found`;
    /// also `update`/`ack` before `calls`).
    #[error("Call not found")]
    UnknownCall,
    /// The participant may not have a media call now, e.g. a control-only token
    /// (403 with this text).
    #[error("{0}")]
    Refused(String),
    /// The offer or candidate can't be used: garbage SDP, no Opus and no VP8, a
    /// malformed candidate (400 text on `calls`, 403 elsewhere, with this message).
    #[error("{0}")]
    BadRequest(String),
    /// The media engine could not do it: a text 5xx with a generic body (500; 502 on
    /// `new_candidate` and call `disconnect`, the only 5xx they accept). The HTTP layer
    /// logs this cause once; the backend need not.
    #[error("{0}")]
    Failed(String),
    /// The media engine did not answer in time (text 504 on `calls`, 502 on
    /// `new_candidate`, 503 elsewhere).
    #[error("media engine timed out")]
    Timeout,
}

impl From<InvalidToken> for CallError {
    fn from(_: InvalidToken) -> CallError {
        CallError::InvalidToken
    }
}

/// The media side of the client API. Every method checks that `caller` is `participant`
/// (calls are self-only; the HTTP layer has already refused other uuids) and that the
/// call belongs to it.
pub trait CallBackend: Send + Sync + 'static {
    /// `calls`: answers the offer and starts the call. Must answer within 5 s.
    fn open_call(
        &self,
        caller: &Caller,
        participant: ParticipantId,
        request: CallRequest,
    ) -> BoxFuture<'_, Result<CallAnswer, CallError>>;

    /// `update`: a renegotiation (track change, ICE restart, presentation direction).
    /// Returns the answer SDP. An `update` without an offer (`sdp` empty) only checks
    /// that the call exists and is the participant's, and answers `""`.
    fn update_call(
        &self,
        caller: &Caller,
        participant: ParticipantId,
        call: uuid::Uuid,
        sdp: String,
    ) -> BoxFuture<'_, Result<String, CallError>>;

    /// `new_candidate`: a trickled remote ICE candidate (`candidate:…` as sent) and its
    /// `mid`; `""` is the end-of-candidates marker. The body's `ufrag`/`pwd` are not
    /// passed on.
    fn add_candidate(
        &self,
        caller: &Caller,
        participant: ParticipantId,
        call: uuid::Uuid,
        candidate: String,
        mid: Option<String>,
    ) -> BoxFuture<'_, Result<(), CallError>>;

    /// `ack`: the client applied the answer; media may start. Repeatable (the SDK acks
    /// again after every `update`). The body's `sdp` would answer a server offer; plenum
    /// never makes one, so it is not passed on.
    fn ack_call(
        &self,
        caller: &Caller,
        participant: ParticipantId,
        call: uuid::Uuid,
    ) -> BoxFuture<'_, Result<(), CallError>>;

    /// Call `disconnect`: ends the media call, the participant stays.
    fn disconnect_call(
        &self,
        caller: &Caller,
        participant: ParticipantId,
        call: uuid::Uuid,
    ) -> BoxFuture<'_, Result<(), CallError>>;

    /// Call `dtmf`: digits the participant keyed into the conference (validated by the
    /// core).
    fn call_dtmf(
        &self,
        caller: &Caller,
        participant: ParticipantId,
        call: uuid::Uuid,
        digits: String,
    ) -> BoxFuture<'_, Result<Result<(), Refusal>, CallError>>;

    /// `statistics`: the client's view of its call.
    fn call_statistics(
        &self,
        caller: &Caller,
        participant: ParticipantId,
        call: uuid::Uuid,
        statistics: CallStatistics,
    ) -> BoxFuture<'_, Result<(), CallError>>;

    /// The latest presentation still as JPEG (`presentation.jpeg`, or the larger
    /// `presentation_high.jpeg`); `None` when nobody presents.
    fn presentation_jpeg(
        &self,
        caller: &Caller,
        high: bool,
    ) -> BoxFuture<'_, Result<Option<bytes::Bytes>, InvalidToken>>;
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    #[test]
    fn a_statistics_report_becomes_the_media_quality_shown_to_admins() {
        let report = CallStatistics {
            audio: Some(StreamStatistics {
                rx_packets_lost: Some(3),
                rx_jitter_ms: Some(4.5),
                rx_codec: Some("opus".into()),
                // Not a number JSON can hold: left out.
                rx_bitrate_kbps: Some(f64::NAN),
                ..StreamStatistics::default()
            }),
            video: Some(StreamStatistics {
                rx_resolution: Some("1280x720".into()),
                tx_fps: Some(30.0),
                ..StreamStatistics::default()
            }),
            presentation: None,
        };
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            report.quality_json(at),
            serde_json::json!({
                "reported_at": "2023-11-14T22:13:20.000Z",
                "audio": {"rx_packets_lost": 3, "rx_jitter_ms": 4.5, "rx_codec": "opus"},
                "video": {"rx_resolution": "1280x720", "tx_fps": 30.0},
            })
        );
    }
}
