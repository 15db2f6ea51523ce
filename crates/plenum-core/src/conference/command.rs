//! What is asked of a conference: commands and who asks them, joins and dials, media
//! reports, and the refusals and join errors that answer them.

use crate::disconnect::DisconnectReason;
use crate::layout::Layout;
use crate::participant::{ParticipantId, Waiting};
use crate::role::{CallType, Protocol, Role};
use crate::secret::Secret;

/// Longest chat message payload, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;
/// Longest name-overlay text, in characters.
pub const MAX_OVERLAY_CHARS: usize = 100;
/// Longest DTMF sequence in one command.
pub const MAX_DTMF_DIGITS: usize = 64;

/// Who asks for a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A participant of this conference.
    Participant(ParticipantId),
    /// An administrator through the status API: allowed everything.
    Admin,
    /// The node itself (the dial of a call to a person, automatic dial-out): allowed
    /// what a Host is.
    Node,
}

/// Someone arriving at the conference, already through the gate.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    /// Identity chosen by the node.
    pub id: ParticipantId,
    /// Name for the roster.
    pub display_name: String,
    /// Role the PIN gave.
    pub role: Role,
    /// The Host PIN was proven: a locked meeting lets them in at once.
    pub via_host_pin: bool,
    /// Invited or dialled by the meeting (not a caller): as Host it passes the lock.
    pub invited: bool,
    /// What media the participant will exchange.
    pub call_type: CallType,
    /// How the participant reached the node.
    pub protocol: Protocol,
    /// Connected to an externally hosted meeting.
    pub external: bool,
    /// Whether this participant keeps the meeting alive on its own.
    pub keeps_alive: bool,
}

impl JoinRequest {
    /// A caller with the given identity, name and role: a video call over the client
    /// API that keeps the meeting alive.
    pub fn caller(id: ParticipantId, display_name: &str, role: Role) -> JoinRequest {
        JoinRequest {
            id,
            display_name: display_name.to_owned(),
            role,
            via_host_pin: false,
            invited: false,
            call_type: CallType::Video,
            protocol: Protocol::Api,
            external: false,
            keeps_alive: true,
        }
    }
}

/// Someone the meeting dials (Add participant, a call to a person, automatic
/// dial-out). They ring, shown as connecting, until they answer or the ring times out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialRequest {
    /// Identity chosen by the node.
    pub id: ParticipantId,
    /// Name for the roster.
    pub display_name: String,
    /// Role they join with once they answer.
    pub role: Role,
    /// Whether they keep the meeting alive on their own once answered.
    pub keeps_alive: bool,
}

/// Where a joining participant ends up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinOutcome {
    /// In the meeting.
    Joined,
    /// In a waiting room.
    Waiting(Waiting),
}

/// Kind of a chat message payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// `text/plain`.
    Text,
    /// `application/json`: application data, not shown as text.
    Json,
}

/// A control action, by an [`Actor`], on this conference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Lock the meeting: new arrivals wait (Host).
    Lock,
    /// Unlock the meeting and admit everyone waiting for admission (Host).
    Unlock,
    /// Start the meeting without media, letting waiting Guests in (Host).
    StartConference,
    /// Mute every Guest, including later arrivals (Host).
    MuteGuests,
    /// Unmute every Guest (Host).
    UnmuteGuests,
    /// Whether Guests may unmute themselves (Host).
    SetGuestsCanUnmute(bool),
    /// End the meeting for everyone, the actor included (Host).
    DisconnectAll,
    /// Chat to everyone, or privately to one participant.
    SendMessage {
        to: Option<ParticipantId>,
        kind: MessageKind,
        payload: String,
    },
    /// Change the layout (Host). `layout` sets the VMR layout (in an auditorium, the
    /// Hosts' layout); `host_layout`/`guest_layout` set an auditorium's per-role
    /// layouts. `reset` goes back to the service default first.
    TransformLayout {
        layout: Option<Layout>,
        host_layout: Option<Layout>,
        guest_layout: Option<Layout>,
        overlay_text: Option<bool>,
        reset: bool,
    },
    /// Lower every raised hand (Host).
    LowerAllHands,
    /// Disconnect a participant (Host; self; rejects a waiting one).
    Disconnect(ParticipantId),
    /// Mute a participant's audio (Host; self).
    Mute(ParticipantId),
    /// Unmute a participant's audio (Host; self when allowed).
    Unmute(ParticipantId),
    /// The client muted its microphone locally (self).
    ClientMute(ParticipantId),
    /// The client unmuted its microphone locally (self).
    ClientUnmute(ParticipantId),
    /// Camera off (self; Host).
    VideoMute(ParticipantId),
    /// Camera on (self; Host).
    VideoUnmute(ParticipantId),
    /// Let a participant receive the presentation (Host; self).
    AllowPresentation(ParticipantId),
    /// Stop a participant receiving the presentation (Host; self).
    DenyPresentation(ParticipantId),
    /// Pin a participant into the main video (Host).
    SpotlightOn(ParticipantId),
    /// Unpin a participant (Host).
    SpotlightOff(ParticipantId),
    /// Admit a waiting participant (Host).
    Admit(ParticipantId),
    /// Set the name overlay label of a participant (Host).
    SetOverlayText(ParticipantId, String),
    /// Make a participant Host or Guest (Host; not oneself to Guest; not externals).
    SetRole(ParticipantId, Role),
    /// The actor proved the Host PIN from inside the meeting (the node checked it).
    PromoteWithHostPin,
    /// Raise a hand (self).
    RaiseHand(ParticipantId),
    /// Lower a hand (self; Host).
    LowerHand(ParticipantId),
    /// Take the presentation floor (self; Guests only if allowed).
    TakeFloor,
    /// Give the presentation floor back (self; a no-op if not presenting).
    ReleaseFloor,
    /// Move a participant to another room (Host; self). The node has checked the
    /// destination; the conference tells the participant where to go.
    Transfer {
        target: ParticipantId,
        alias: String,
        role: Role,
        ticket: Secret,
    },
    /// Ring someone: they show as connecting until they answer ([`Conference::handle_answer`])
    /// or do not in time (#pex150) (Host; the node).
    Dial(DialRequest),
    /// Send DTMF tones toward a participant (Host; self). Tones a Guest keys itself are
    /// also an entry of the Host PIN: the Host PIN and `#` make it Host.
    SendDtmf {
        target: ParticipantId,
        digits: String,
    },
}

/// A command that was not carried out, with a reason clients can show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("participant not found")]
    UnknownParticipant,
    #[error("only a Host can do this")]
    HostOnly,
    #[error("a participant can only do this for themself")]
    SelfOnly,
    #[error("not available while waiting to join the meeting")]
    StillWaiting,
    #[error("a Host cannot make themself a Guest")]
    SelfDemotion,
    #[error("the role of an external participant cannot be changed")]
    ExternalRoleFixed,
    #[error("Guests may not unmute themselves in this meeting")]
    GuestsCannotUnmute,
    #[error("chat is disabled")]
    ChatDisabled,
    #[error("message is empty or longer than {MAX_MESSAGE_BYTES} bytes")]
    BadMessage,
    #[error("Guests may not present in this meeting")]
    PresentationNotAllowed,
    #[error("DTMF digits must be 1-{MAX_DTMF_DIGITS} of 0-9, *, #, A-D")]
    BadDigits,
    #[error("overlay text is longer than {MAX_OVERLAY_CHARS} characters")]
    OverlayTooLong,
    #[error("participant is not waiting")]
    NotWaiting,
    #[error("not available in this kind of service")]
    WrongService,
    #[error("the conference has ended")]
    Ended,
    #[error("a participant with this id is already in the conference")]
    DuplicateId,
    #[error("participant limit reached")]
    Full,
}

/// Why a participant could not be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    #[error("participant limit reached")]
    Full,
    #[error("the conference has ended")]
    Ended,
    #[error("a participant with this id is already in the conference")]
    DuplicateId,
    #[error("nobody with this id is ringing in the conference")]
    NotRinging,
}

impl JoinError {
    /// The reason to give the caller; `None` for node-side mistakes (retry with a new
    /// conference or a new id).
    pub fn reason(self) -> Option<DisconnectReason> {
        match self {
            JoinError::Full => Some(DisconnectReason::ParticipantLimitReached),
            JoinError::NotRinging => Some(DisconnectReason::InvalidToken),
            JoinError::Ended | JoinError::DuplicateId => None,
        }
    }
}

/// What the media engine reports about a participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaReport {
    /// A media call started or changed: the participant now exchanges this kind of
    /// media (a Host with audio or video starts the meeting).
    CallType(CallType),
    /// Media started or stopped flowing.
    Media(bool),
    /// Voice activity started or stopped.
    Speaking(bool),
    /// Video from the participant started (`true`) or stopped arriving during a video
    /// call (`is_video_silent` is its negation).
    VideoFlowing(bool),
}
