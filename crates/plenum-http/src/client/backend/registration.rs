//! The contract of device registration (`/api/client/v2/registrations/…`): what the HTTP
//! layer asks the node (register, refresh, release, the notice feed, the directory) and
//! what it answers.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::future::BoxFuture;
use plenum_core::{DisconnectReason, ParticipantId, Refusal, Role, Secret};
use tokio::sync::broadcast;

use super::{Caller, IdpChoice, InvalidToken, SsoRequest};

/// A `registrations/{alias}/request_token` call with its credentials.
#[derive(Debug, Clone)]
pub struct RegisterRequest {
    /// The device alias from the path (percent-decoded).
    pub alias: String,
    /// How the device proves who it is.
    pub credentials: DeviceCredentials,
    /// The client's address (failure counting, the admin's registration list).
    pub client_addr: SocketAddr,
    /// The `User-Agent`, capped; may be empty.
    pub user_agent: String,
}

/// How a registering device proves who it is.
#[derive(Debug, Clone)]
pub enum DeviceCredentials {
    /// The user name and password of the `x-pexip-basic` authorization.
    Password {
        /// The user name.
        username: String,
        /// The password; `Debug` hides it.
        password: Secret,
    },
    /// No authorization: single sign-on (plenum's extension, with the conference
    /// request_token's field names: without `chosen_idp` the identity providers are
    /// listed; with it the sign-in starts; with `sso_token` it is redeemed).
    SingleSignOn(SsoRequest),
}

/// A registration the node accepted.
#[derive(Debug, Clone)]
pub struct RegistrationGrant {
    /// The registration token (URL-safe, ≥ 128 bits of randomness).
    pub token: Secret,
    /// The registration's id (`registration_uuid`).
    pub registration: uuid::Uuid,
    /// Whether the directory can be searched (`directory_enabled`).
    pub directory_enabled: bool,
    /// Whether the client should place every call through this node
    /// (`route_via_registrar`).
    pub route_via_registrar: bool,
}

/// Why a registration was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterRefusal {
    /// Unknown alias, wrong user name or wrong password: one answer for all three, so
    /// nobody learns which aliases exist (401).
    BadCredentials,
    /// Too many failed attempts from this address or for this alias: try again later
    /// (429 with `Retry-After`).
    TooManyFailures {
        /// How long until the next attempt is considered.
        retry_after: Duration,
    },
    /// The node takes no registrations now (maintenance 503, client access off 403),
    /// or a single sign-on was refused (#pex200…204, 403).
    Refused(DisconnectReason),
    /// Devices of this node sign in: pick one of these identity providers (403 `idp`
    /// list), retry with `chosen_idp`. The same list for every alias.
    IdpRequired(Vec<IdpChoice>),
    /// Sign in at `url` (403 `redirect_url`); the sign-in returns to the redirect target
    /// with a one-time `sso_token`.
    SsoRedirect {
        /// The identity provider's authorization URL.
        url: String,
        /// The provider signed in with.
        idp: IdpChoice,
    },
}

/// What a registered client is told on its event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationNotice {
    /// Someone calls this device (`incoming`): join `conference_alias` presenting
    /// `token` (one-time) to accept, or release it to decline.
    Incoming {
        /// The alias to join.
        conference_alias: String,
        /// Who calls.
        remote_display_name: String,
        /// The one-time token that answers (or declines) this call.
        token: Secret,
    },
    /// The call behind `token` stopped ringing (answered elsewhere, cancelled, timed
    /// out) (`incoming_cancelled`).
    IncomingCancelled {
        /// The token of the `incoming` it cancels.
        token: Secret,
    },
    /// The registration ended (released, expired, or replaced): the stream closes.
    Ended,
}

/// A registered client's event stream: the calls ringing now (replayed on open), then
/// every notice after it. `Lagged` closes the stream; the client reconnects.
#[derive(Debug)]
pub struct RegistrationFeed {
    /// `incoming` notices of calls ringing right now.
    pub ringing: Vec<RegistrationNotice>,
    /// Every notice after them.
    pub notices: broadcast::Receiver<RegistrationNotice>,
}

/// One directory (phone book) entry: a room or a device alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// The alias to dial.
    pub alias: String,
    /// A name for people: the room's name or the device's description.
    pub description: String,
}

/// Why the directory was not searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// The registration token is not live (403 `Invalid token`).
    #[error("Invalid token")]
    InvalidToken,
    /// The admin turned the directory off (403).
    #[error("The directory is not enabled on this node")]
    Disabled,
}

impl From<InvalidToken> for DirectoryError {
    fn from(_: InvalidToken) -> DirectoryError {
        DirectoryError::InvalidToken
    }
}

/// A Host's `dial` (Add participant): whom to ring and as what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialOrder {
    /// The alias to ring (a registered device's).
    pub destination: String,
    /// The role they join with once they answer.
    pub role: Role,
    /// Their name in the roster while ringing (`remote_display_name`); the device's
    /// description when absent.
    pub display_name: Option<String>,
    /// Who the device is told calls (`source_display_name`); the Host's name when
    /// absent.
    pub caller_name: Option<String>,
    /// Whether they keep the meeting alive once answered (`keep_conference_alive`).
    pub keeps_alive: bool,
}

/// Why a dial did not ring anybody.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialError {
    /// The conference refused (not a Host, still waiting, full, ended…).
    Refused(Refusal),
    /// The destination is a device nobody is registered at right now (403
    /// `Device not registered`).
    NotRegistered,
    /// Nothing plenum can ring answers to the destination: not a device alias, or a
    /// protocol it has no gateway for (403 `Gateway dial out failed`, #pex152).
    NoGateway,
    /// The node has no capacity for another participant (503).
    OutOfResource,
    /// The token is not live.
    InvalidToken,
}

impl From<InvalidToken> for DialError {
    fn from(_: InvalidToken) -> DialError {
        DialError::InvalidToken
    }
}

impl From<Refusal> for DialError {
    fn from(refusal: Refusal) -> DialError {
        DialError::Refused(refusal)
    }
}

/// A device a Host can add (`GET conferences/{alias}/directory`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialableDevice {
    /// The device alias.
    pub alias: String,
    /// A name for people (the description, or the alias).
    pub description: String,
    /// Someone is registered at it now, so a dial would ring.
    pub registered: bool,
}

/// The registration half of the client API. Every method taking a token checks that
/// it is a live *registration* token (never a conference token) for `alias`.
pub trait RegistrationBackend: Send + Sync + 'static {
    /// `request_token`: checks the credentials and starts a registration.
    fn register(
        &self,
        request: RegisterRequest,
    ) -> BoxFuture<'_, Result<RegistrationGrant, RegisterRefusal>> {
        let _ = request;
        Box::pin(async {
            Err(RegisterRefusal::Refused(
                DisconnectReason::ClientAccessDisabled,
            ))
        })
    }

    /// `refresh_token`: a new token for the same registration.
    fn refresh_registration(
        &self,
        alias: &str,
        token: &str,
    ) -> BoxFuture<'_, Result<Secret, InvalidToken>> {
        let _ = (alias, token);
        Box::pin(async { Err(InvalidToken) })
    }

    /// `release_token`: the registration ends.
    fn release_registration(
        &self,
        alias: &str,
        token: &str,
    ) -> BoxFuture<'_, Result<(), InvalidToken>> {
        let _ = (alias, token);
        Box::pin(async { Err(InvalidToken) })
    }

    /// `events`: the registration's notices.
    fn registration_feed(
        &self,
        alias: &str,
        token: &str,
    ) -> Result<RegistrationFeed, InvalidToken> {
        let _ = (alias, token);
        Err(InvalidToken)
    }

    /// `GET registrations?q=`: rooms and device aliases whose alias or name contains
    /// `query` (case ignored; empty = all), at most [`DIRECTORY_LIMIT`].
    fn directory(&self, token: &str, query: &str) -> Result<Vec<DirectoryEntry>, DirectoryError> {
        let _ = (token, query);
        Err(DirectoryError::InvalidToken)
    }

    /// `conferences/{alias}/dial` by a Host: rings a registered device into the
    /// caller's meeting; answers the new participant's id (connecting until answered).
    fn dial(
        &self,
        caller: &Caller,
        order: DialOrder,
    ) -> BoxFuture<'_, Result<ParticipantId, DialError>> {
        let _ = (caller, order);
        Box::pin(async { Err(DialError::NoGateway) })
    }

    /// `conferences/{alias}/directory?q=` for a Host: the devices whose alias or
    /// description contains `query` (case ignored; empty = all), at most
    /// [`DIRECTORY_LIMIT`], with whether each is registered now.
    fn dialable_devices(
        &self,
        caller: &Caller,
        query: &str,
    ) -> BoxFuture<'_, Result<Vec<DialableDevice>, DialError>> {
        let _ = (caller, query);
        Box::pin(async { Err(DialError::NoGateway) })
    }
}

/// Most entries one directory search answers.
pub const DIRECTORY_LIMIT: usize = 100;
