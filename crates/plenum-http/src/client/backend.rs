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
/// `Arc<dyn ClientBackend>`. Every method taking a token checks that the token is live
/// and belongs to the conference reached through `alias` (any of its aliases).
pub trait ClientBackend: Send + Sync + 'static {
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
}
