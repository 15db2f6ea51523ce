//! What a conference tells the node: events, and the derived views (status, layout,
//! speaker order, snapshot) they carry.

use std::sync::Arc;
use std::time::Instant;

use crate::disconnect::DisconnectReason;
use crate::layout::Layout;
use crate::participant::{ParticipantId, ParticipantState};
use crate::pin::KeyedPin;
use crate::role::Role;
use crate::secret::Secret;
use crate::service::ServiceConfig;

use super::{Actor, MessageKind};

/// The conference-wide flags clients show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConferenceStatus {
    /// New arrivals wait for admission.
    pub locked: bool,
    /// Guests are muted, including later arrivals.
    pub guests_muted: bool,
    /// Guests may unmute themselves.
    pub guests_can_unmute: bool,
    /// A Host started the meeting (always true without a Guest role).
    pub started: bool,
    /// Guests may present.
    pub guests_can_present: bool,
    /// Chat is available.
    pub chat_enabled: bool,
    /// Someone holds the floor.
    pub presentation_active: bool,
}

/// Everything a client needs to show the conference at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConferenceSnapshot {
    /// The service and its settings.
    pub service: Arc<ServiceConfig>,
    /// When the conference started.
    pub created_at: Instant,
    /// Flags.
    pub status: ConferenceStatus,
    /// Layout and who is on screen.
    pub layout: LayoutState,
    /// Speaker order.
    pub stage: Vec<StageEntry>,
    /// Who holds the floor.
    pub presenter: Option<ParticipantId>,
    /// Participants in arrival order, waiting ones included.
    pub participants: Vec<ParticipantState>,
}

/// One line of the speaker order: index 0 is the main speaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageEntry {
    /// Who.
    pub id: ParticipantId,
    /// Position in the order.
    pub stage_index: usize,
    /// Talking right now.
    pub speaking: bool,
}

/// What the composite shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutState {
    /// Layout Hosts see (in a VMR: everyone).
    pub host_layout: Layout,
    /// Layout Guests see (in a VMR: the same as Hosts).
    pub guest_layout: Layout,
    /// Names burnt into the composite.
    pub overlay_text_enabled: bool,
    /// Who is on screen in the Hosts' layout, in order.
    pub on_screen: Vec<ParticipantId>,
}

/// What happened; the node fans these out to clients, the media engine and history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Someone arrived (in the meeting or in a waiting room).
    ParticipantJoined(ParticipantState),
    /// Something about a participant changed; carries the complete new state.
    ParticipantUpdated(ParticipantState),
    /// Someone left or was disconnected; the last state and why.
    ParticipantLeft {
        participant: ParticipantState,
        reason: DisconnectReason,
    },
    /// Lock, mute-guests, started or similar flags changed.
    ConferenceUpdated(ConferenceStatus),
    /// A chat message to everyone (`to: None`) or to one participant.
    MessageSent {
        from: ParticipantId,
        from_name: String,
        to: Option<ParticipantId>,
        kind: MessageKind,
        payload: String,
    },
    /// `presenter` took the floor (from nobody, or from `replaced`).
    PresentationStarted {
        presenter: ParticipantId,
        presenter_name: String,
        replaced: Option<ParticipantId>,
    },
    /// The floor is free again.
    PresentationStopped { presenter: ParticipantId },
    /// A new still image of the presentation is available (`id` increases; clients
    /// that show stills fetch `presentation.jpeg` with it).
    PresentationFrame { presenter: ParticipantId, id: u64 },
    /// The layout or who is on screen changed.
    LayoutChanged(LayoutState),
    /// The speaker order changed.
    StageChanged(Vec<StageEntry>),
    /// A participant is asked to move to another room.
    ParticipantReferred {
        id: ParticipantId,
        alias: String,
        role: Role,
        /// One-time join token the participant presents at `alias`.
        ticket: Secret,
    },
    /// DTMF tones for a participant's leg.
    DtmfSent {
        by: Actor,
        target: ParticipantId,
        digits: String,
    },
    /// A Guest keyed an entry ended by `#` in a meeting with a Host PIN. On
    /// [`KeyedPin::Correct`] it became Host: the `ParticipantUpdated` with its new role
    /// came just before. For the node's log; clients are not told.
    HostPinKeyed {
        id: ParticipantId,
        verdict: KeyedPin,
    },
    /// The conference is over; no more events follow.
    ConferenceEnded { reason: DisconnectReason },
}
