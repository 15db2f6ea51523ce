//! Why a participant left or was refused: the reason text clients show and its #pex code.

use std::fmt;

/// Every reason the node ends or refuses a call, with the exact text the client API
/// carries (clients map the text to the #pex code) and the code itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// The participant hung up or released its token.
    UserInitiated,
    /// The participant was moved to another room (the client releases its token).
    Transferred,
    /// #pex100.
    InvalidRole,
    /// #pex101.
    InvalidPin,
    /// #pex110.
    MaintenanceMode,
    /// #pex113: the token was not refreshed in time.
    TokenExpired,
    /// #pex113: a token (or a one-time join ticket) that is unknown, used or expired.
    InvalidToken,
    /// #pex114: the node has no capacity left.
    OutOfResource,
    /// #pex115.
    TransferFailed,
    /// #pex121: ended through the API by a Host's "disconnect all".
    ApiConferenceTermination,
    /// #pex122: an administrator ended the whole meeting.
    ConferenceEndedByAdmin,
    /// #pex123: an administrator disconnected this participant.
    DisconnectedByAdmin,
    /// #pex124: a Host disconnected this participant (or rejected them from the
    /// waiting room).
    DisconnectedByHost,
    /// #pex125: a Host ended the meeting for everyone.
    ConferenceEndedByHost,
    /// #pex126: waited too long for a Host or for admission.
    WaitingTimedOut,
    /// #pex127: client access is disabled by the admin.
    ClientAccessDisabled,
    /// #pex140: nobody left who keeps the meeting alive.
    NoParticipantsCanKeepAlive,
    /// #pex141: the last Host left and the grace period ran out.
    AllHostsLeft,
    /// #pex142: alone for longer than the service allows.
    AloneTimedOut,
    /// #pex143: the test call's length ran out.
    TestCallFinished,
    /// #pex150: the dialled party declined the call.
    CallDeclined,
    /// #pex150: the dialled party did not answer in time.
    CallNotAnswered,
    /// #pex151: the other party of a two-party call hung up.
    CallDisconnected,
    /// The person called has no live registration on this node (no #pex code).
    DeviceNotRegistered,
    /// #pex154: no service answers to this alias.
    AliasNotFound,
    /// #pex117 family: a Virtual Reception extension that matches no room.
    ExtensionNotFound,
    /// #pex192: too many wrong PINs.
    TooManyPinAttempts,
    /// #pex194: the service's participant limit is reached.
    ParticipantLimitReached,
    /// #pex129: the node is shutting down.
    NodeShuttingDown,
    /// #pex200: a single sign-on that did not prove the caller (unknown, used or expired
    /// sign-in token; an identity provider the room does not use).
    SsoFailed,
    /// #pex201: the room wants single sign-on but no identity provider it names exists.
    SsoNotConfigured,
    /// #pex203: single sign-on while the node is in maintenance mode.
    SsoMaintenance,
    /// #pex204: the sign-in would return to a web origin the node does not serve.
    SsoForeignDomain,
}

impl DisconnectReason {
    /// The exact reason string of the client API (case-sensitive; clients map it to a
    /// #pex code).
    pub fn text(self) -> &'static str {
        use DisconnectReason::*;
        match self {
            UserInitiated => "User initiated disconnect",
            Transferred => "Transfer",
            InvalidRole => "Invalid role",
            InvalidPin => "Invalid PIN",
            MaintenanceMode => "System in maintenance mode",
            TokenExpired => "Timer expired awaiting token refresh",
            InvalidToken => "Invalid token",
            OutOfResource => "Out of resource",
            TransferFailed => "transfer failed",
            ApiConferenceTermination => "API initiated conference termination",
            ConferenceEndedByAdmin => "Conference terminated by an administrator",
            DisconnectedByAdmin => "Disconnected by an administrator",
            DisconnectedByHost => "Disconnected by another participant",
            ConferenceEndedByHost => "Conference terminated by another participant",
            WaitingTimedOut => {
                "Timeout waiting for conference host to join or permit access to locked conference"
            }
            ClientAccessDisabled => "Disabled",
            NoParticipantsCanKeepAlive => "No participants can keep conference alive",
            AllHostsLeft => "All conference hosts departed hosted conference",
            AloneTimedOut => "Last remaining participant removed from conference after timeout",
            TestCallFinished => "Test call finished",
            CallDeclined | CallNotAnswered => "Call rejected",
            CallDisconnected => "Call disconnected",
            DeviceNotRegistered => "Device not registered",
            AliasNotFound => "Neither conference nor gateway found",
            ExtensionNotFound => "Conference extension not found",
            TooManyPinAttempts => "Participant exceeded PIN entry retries",
            ParticipantLimitReached => "Participant limit reached",
            NodeShuttingDown => "Signaling node disconnected",
            SsoFailed => "SSO Authentication Failed",
            SsoNotConfigured => "SSO enabled but no Identity Providers configured",
            SsoMaintenance => "SSO Authentication Failed. The system is in Maintenance mode",
            SsoForeignDomain => "SSO Authentication Failed. SSO is not available from this domain",
        }
    }

    /// The #pex code shown to users, if this reason has one.
    pub fn pex_code(self) -> Option<u16> {
        use DisconnectReason::*;
        Some(match self {
            UserInitiated | Transferred | DeviceNotRegistered => return None,
            InvalidRole => 100,
            InvalidPin => 101,
            MaintenanceMode => 110,
            TokenExpired | InvalidToken => 113,
            OutOfResource => 114,
            TransferFailed => 115,
            ApiConferenceTermination => 121,
            ConferenceEndedByAdmin => 122,
            DisconnectedByAdmin => 123,
            DisconnectedByHost => 124,
            ConferenceEndedByHost => 125,
            WaitingTimedOut => 126,
            ClientAccessDisabled => 127,
            NodeShuttingDown => 129,
            NoParticipantsCanKeepAlive => 140,
            AllHostsLeft => 141,
            AloneTimedOut => 142,
            TestCallFinished => 143,
            CallDeclined | CallNotAnswered => 150,
            CallDisconnected => 151,
            AliasNotFound => 154,
            ExtensionNotFound => 117,
            TooManyPinAttempts => 192,
            ParticipantLimitReached => 194,
            SsoFailed => 200,
            SsoNotConfigured => 201,
            SsoMaintenance => 203,
            SsoForeignDomain => 204,
        })
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pex_code() {
            Some(code) => write!(f, "{} (#pex{code})", self.text()),
            None => f.write_str(self.text()),
        }
    }
}
