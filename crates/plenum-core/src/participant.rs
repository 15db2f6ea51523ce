//! A participant's state as the conference keeps it: identity, role, call, controls.

use std::fmt;
use std::time::Instant;

use crate::role::{CallType, Protocol, Role};

/// Identity of one participant in one conference, chosen by the node (a random uuid).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantId(pub uuid::Uuid);

impl fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// Why a participant is not in the meeting yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Waiting {
    /// A Guest waiting for a Host to start the meeting.
    ForHost,
    /// Waiting to be admitted to a locked meeting.
    ForAdmission,
}

/// Everything the conference knows about a participant; events carry copies of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantState {
    /// Identity.
    pub id: ParticipantId,
    /// Name shown in the roster and the name overlay.
    pub display_name: String,
    /// Role granted at the door or changed since; a waiting participant holds it only
    /// once admitted.
    pub role: Role,
    /// `Some` while in a waiting room; such a participant controls nothing.
    pub waiting: Option<Waiting>,
    /// What media the participant exchanges.
    pub call_type: CallType,
    /// How the participant reached the node.
    pub protocol: Protocol,
    /// Connected to an externally hosted meeting: the role can't be changed.
    pub external: bool,
    /// Whether this participant keeps the meeting alive on its own (callers do;
    /// automatically dialled participants may not).
    pub keeps_alive: bool,
    /// Dialled out by the meeting (`call_direction` out) rather than calling in.
    pub dialled: bool,
    /// Dialled and still ringing: not in the meeting until it answers.
    pub connecting: bool,
    /// When the participant arrived.
    pub joined_at: Instant,
    /// Audio muted by the node (by a Host or by themself).
    pub is_muted: bool,
    /// The client muted its own microphone.
    pub is_client_muted: bool,
    /// The participant's camera is off.
    pub is_video_muted: bool,
    /// When spotlit (orders spotlit participants); `None` = not spotlit.
    pub spotlight_since: Option<Instant>,
    /// When the hand went up; `None` = hand down.
    pub hand_raised_at: Option<Instant>,
    /// Whether the participant receives the presentation.
    pub receives_presentation: bool,
    /// Holds the presentation floor.
    pub is_presenting: bool,
    /// Label burnt into the composite for this participant.
    pub overlay_text: String,
    /// Media is flowing (reported by the media engine).
    pub has_media: bool,
    /// Voice activity right now (reported by the media engine).
    pub is_speaking: bool,
    /// A video call whose video stopped arriving (reported by the media engine).
    pub is_video_silent: bool,
    /// When the participant last spoke.
    pub last_spoken_at: Option<Instant>,
    /// Entered with the Host PIN (or dialled as Host): passes the lock.
    pub(crate) bypasses_lock: bool,
}

impl ParticipantState {
    /// Admitted, with a role in the meeting (not waiting, not still ringing).
    pub fn is_admitted(&self) -> bool {
        self.waiting.is_none() && !self.connecting
    }

    /// An admitted Host.
    pub fn is_host(&self) -> bool {
        self.is_admitted() && self.role == Role::Host
    }
}
