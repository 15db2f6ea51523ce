//! One running meeting: participants, roles, lock and waiting room, controls, floor,
//! chat, lifecycle timers. Sans-IO: mutated by `handle_*`, drained by `poll_*`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use crate::disconnect::DisconnectReason;
use crate::layout::Layout;
use crate::participant::{ParticipantId, ParticipantState, Waiting};
use crate::pin::{KeyedPin, PinKeypad};
use crate::role::{CallType, Protocol, Role};
use crate::secret::Secret;
use crate::service::{ServiceConfig, ServiceKind};

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

/// A participant, its personal deadline (waiting timeout or test-call end) and the
/// tones it keyed toward the Host PIN.
#[derive(Debug)]
struct Slot {
    state: ParticipantState,
    deadline: Option<Instant>,
    keypad: PinKeypad,
}

/// One running meeting of one service.
#[derive(Debug)]
pub struct Conference {
    /// The service's settings (a reload swaps them in for new joins).
    service: Arc<ServiceConfig>,
    /// When the conference started.
    created_at: Instant,
    /// Participants in arrival order, waiting ones included.
    slots: Vec<Slot>,
    /// New arrivals wait for admission.
    locked: bool,
    /// Guests are muted, and arriving Guests start muted.
    guests_muted: bool,
    /// Guests may unmute themselves.
    guests_can_unmute: bool,
    /// A Host has started the meeting.
    started: bool,
    /// Layout per role and overlay flag.
    host_layout: Layout,
    guest_layout: Layout,
    overlay_text_enabled: bool,
    /// Who holds the floor.
    presenter: Option<ParticipantId>,
    /// The last Host left: Guests go when this passes.
    hosts_left_deadline: Option<Instant>,
    /// One participant left alone: they go when this passes.
    alone_deadline: Option<Instant>,
    /// Set once the conference is over.
    ended: Option<DisconnectReason>,
    /// Why the last participant to go left (a call to a person ends with it).
    last_departure: Option<DisconnectReason>,
    /// Last published derived views, to publish only changes.
    last_status: ConferenceStatus,
    last_stage: Vec<StageEntry>,
    last_layout: LayoutState,
    /// Output queue.
    events: VecDeque<Event>,
}

// === impl Conference ===

impl Conference {
    /// A new, empty conference of `service`, created at `now`.
    pub fn new(now: Instant, service: Arc<ServiceConfig>) -> Conference {
        let layout = service.default_layout;
        let mut conference = Conference {
            created_at: now,
            slots: Vec::new(),
            locked: false,
            guests_muted: false,
            guests_can_unmute: true,
            started: !service.has_guest_role(),
            host_layout: layout,
            guest_layout: layout,
            overlay_text_enabled: false,
            presenter: None,
            hosts_left_deadline: None,
            alone_deadline: None,
            ended: None,
            last_departure: None,
            last_status: ConferenceStatus {
                locked: false,
                guests_muted: false,
                guests_can_unmute: true,
                started: false,
                guests_can_present: false,
                chat_enabled: false,
                presentation_active: false,
            },
            last_stage: Vec::new(),
            last_layout: LayoutState {
                host_layout: layout,
                guest_layout: layout,
                overlay_text_enabled: false,
                on_screen: Vec::new(),
            },
            events: VecDeque::new(),
            service,
        };
        conference.last_status = conference.status();
        conference
    }

    /// The service this conference runs.
    pub fn service(&self) -> &Arc<ServiceConfig> {
        &self.service
    }

    /// Swaps in reloaded settings: they apply to joins from now on.
    pub fn replace_service(&mut self, service: Arc<ServiceConfig>) {
        self.service = service;
    }

    /// When the conference started.
    pub fn created_at(&self) -> Instant {
        self.created_at
    }

    /// Why the conference ended, once it has.
    pub fn ended(&self) -> Option<DisconnectReason> {
        self.ended
    }

    /// The current flags.
    pub fn status(&self) -> ConferenceStatus {
        ConferenceStatus {
            locked: self.locked,
            guests_muted: self.guests_muted,
            guests_can_unmute: self.guests_can_unmute,
            started: self.started,
            guests_can_present: self.service.guests_can_present,
            chat_enabled: self.service.chat_enabled,
            presentation_active: self.presenter.is_some(),
        }
    }

    /// The current layout and who is on screen.
    pub fn layout(&self) -> LayoutState {
        self.last_layout.clone()
    }

    /// A copy of everything clients show.
    pub fn snapshot(&self) -> ConferenceSnapshot {
        ConferenceSnapshot {
            service: self.service.clone(),
            created_at: self.created_at,
            status: self.status(),
            layout: self.layout(),
            stage: self.last_stage.clone(),
            presenter: self.presenter,
            participants: self.participants().cloned().collect(),
        }
    }

    /// The current speaker order.
    pub fn stage(&self) -> &[StageEntry] {
        &self.last_stage
    }

    /// Who holds the floor.
    pub fn presenter(&self) -> Option<&ParticipantState> {
        self.presenter.and_then(|id| self.participant(id))
    }

    /// Every participant in arrival order, waiting ones included.
    pub fn participants(&self) -> impl Iterator<Item = &ParticipantState> {
        self.slots.iter().map(|s| &s.state)
    }

    /// One participant.
    pub fn participant(&self, id: ParticipantId) -> Option<&ParticipantState> {
        self.slots
            .iter()
            .find(|s| s.state.id == id)
            .map(|s| &s.state)
    }

    /// How many participants are here, waiting ones included.
    pub fn participant_count(&self) -> usize {
        self.slots.len()
    }

    /// The next event to publish.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The earliest deadline at which [`Conference::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.ended.is_some() {
            return None;
        }
        self.slots
            .iter()
            .filter_map(|s| s.deadline)
            .chain(self.hosts_left_deadline)
            .chain(self.alone_deadline)
            .min()
    }

    /// Adds a participant who came through the gate.
    pub fn handle_join(
        &mut self,
        now: Instant,
        request: JoinRequest,
    ) -> Result<JoinOutcome, JoinError> {
        if self.ended.is_some() {
            return Err(JoinError::Ended);
        }
        if self.index_of(request.id).is_some() {
            return Err(JoinError::DuplicateId);
        }
        if let Some(limit) = self.service.participant_limit
            && self.slots.len() >= limit as usize
        {
            return Err(JoinError::Full);
        }
        let mut slot = self.new_slot(now, request);
        if self.service.kind == ServiceKind::TestCall {
            slot.deadline = Some(now + self.service.timeouts.test_call);
        } else {
            (slot.state.waiting, slot.deadline) = self.arrival(now, &slot.state);
        }
        let outcome = match slot.state.waiting {
            None => JoinOutcome::Joined,
            Some(w) => JoinOutcome::Waiting(w),
        };
        self.events
            .push_back(Event::ParticipantJoined(slot.state.clone()));
        let starts_meeting = slot.state.is_host() && slot.state.call_type.has_audio_or_video();
        self.slots.push(slot);
        if starts_meeting {
            self.start_meeting(now);
        }
        self.after_change(now);
        Ok(outcome)
    }

    /// A dialled participant answered: it stops ringing and joins with the role it was
    /// dialled as (through the lock as a Host; as a Guest it may wait like any Guest).
    pub fn handle_answer(
        &mut self,
        now: Instant,
        id: ParticipantId,
        call_type: CallType,
        protocol: Protocol,
    ) -> Result<JoinOutcome, JoinError> {
        if self.ended.is_some() {
            return Err(JoinError::Ended);
        }
        let i = self
            .index_of(id)
            .filter(|&i| self.slots[i].state.connecting)
            .ok_or(JoinError::NotRinging)?;
        let (waiting, deadline) = self.arrival(now, &self.slots[i].state);
        let slot = &mut self.slots[i];
        slot.state.connecting = false;
        slot.state.call_type = call_type;
        slot.state.protocol = protocol;
        slot.state.joined_at = now;
        slot.state.waiting = waiting;
        slot.deadline = deadline;
        let outcome = match slot.state.waiting {
            None => JoinOutcome::Joined,
            Some(w) => JoinOutcome::Waiting(w),
        };
        let starts = slot.state.is_host() && slot.state.call_type.has_audio_or_video();
        self.push_updated(i);
        if starts {
            self.start_meeting(now);
        }
        self.after_change(now);
        Ok(outcome)
    }

    /// Removes a participant (hang-up, token release or expiry, transfer done).
    /// Unknown ids are ignored: the participant may already have been removed.
    pub fn handle_leave(&mut self, now: Instant, id: ParticipantId, reason: DisconnectReason) {
        if self.remove(id, reason) {
            self.after_change(now);
        }
    }

    /// Carries out a command, or says why not. Nothing changes on refusal.
    pub fn handle_command(
        &mut self,
        now: Instant,
        actor: Actor,
        command: Command,
    ) -> Result<(), Refusal> {
        if self.ended.is_some() {
            return Err(Refusal::Ended);
        }
        self.apply(now, actor, command)?;
        self.after_change(now);
        Ok(())
    }

    /// The media engine made a new still of the presentation. Ignored when nobody
    /// presents (the still was of a presentation that just ended).
    pub fn handle_presentation_frame(&mut self, id: u64) {
        if let Some(presenter) = self.presenter {
            self.events
                .push_back(Event::PresentationFrame { presenter, id });
        }
    }

    /// Takes a report from the media engine. Unknown ids are ignored.
    pub fn handle_media(&mut self, now: Instant, id: ParticipantId, report: MediaReport) {
        let Some(i) = self.index_of(id) else { return };
        let state = &mut self.slots[i].state;
        let changed = match report {
            MediaReport::CallType(call_type) => {
                let protocol = if call_type.has_audio_or_video() {
                    Protocol::WebRtc
                } else {
                    Protocol::Api
                };
                let protocol_changed = std::mem::replace(&mut state.protocol, protocol) != protocol;
                let silent = call_type == CallType::Video && state.is_video_silent;
                state.is_video_silent = silent;
                (std::mem::replace(&mut state.call_type, call_type) != call_type) | protocol_changed
            }
            MediaReport::VideoFlowing(flowing) => {
                let silent = !flowing && state.call_type == CallType::Video;
                std::mem::replace(&mut state.is_video_silent, silent) != silent
            }
            MediaReport::Media(on) => std::mem::replace(&mut state.has_media, on) != on,
            MediaReport::Speaking(on) => {
                if on {
                    state.last_spoken_at = Some(now);
                }
                std::mem::replace(&mut state.is_speaking, on) != on
            }
        };
        if changed {
            self.push_updated(i);
            let state = &self.slots[i].state;
            if state.is_host() && state.call_type.has_audio_or_video() {
                self.start_meeting(now);
            }
            self.after_change(now);
        }
    }

    /// Fires every deadline that has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.ended.is_some() {
            return;
        }
        if self.hosts_left_deadline.is_some_and(|d| d <= now) {
            self.hosts_left_deadline = None;
            self.end(DisconnectReason::AllHostsLeft);
            return;
        }
        let expired: Vec<(ParticipantId, DisconnectReason)> = self
            .slots
            .iter()
            .filter(|s| s.deadline.is_some_and(|d| d <= now))
            .map(|s| {
                let reason = if s.state.connecting {
                    DisconnectReason::CallNotAnswered
                } else if s.state.waiting.is_some() {
                    DisconnectReason::WaitingTimedOut
                } else {
                    DisconnectReason::TestCallFinished
                };
                (s.state.id, reason)
            })
            .collect();
        for (id, reason) in expired {
            self.remove(id, reason);
        }
        if self.alone_deadline.is_some_and(|d| d <= now) {
            self.alone_deadline = None;
            if let Some(id) = self.slots.first().map(|s| s.state.id) {
                self.remove(id, DisconnectReason::AloneTimedOut);
            }
        }
        self.after_change(now);
    }

    /// Ends the conference for everyone (admin action or node shutdown).
    pub fn handle_end(&mut self, now: Instant, reason: DisconnectReason) {
        if self.ended.is_none() {
            self.end(reason);
            self.after_change(now);
        }
    }
}

// === command handling ===

impl Conference {
    fn apply(&mut self, now: Instant, actor: Actor, command: Command) -> Result<(), Refusal> {
        match command {
            Command::Lock => {
                self.require_host(actor)?;
                self.locked = true;
            }
            Command::Unlock => {
                self.require_host(actor)?;
                self.locked = false;
                let waiting: Vec<usize> = (0..self.slots.len())
                    .filter(|&i| self.slots[i].state.waiting == Some(Waiting::ForAdmission))
                    .collect();
                for i in waiting {
                    self.admit(now, i);
                }
            }
            Command::StartConference => {
                self.require_host(actor)?;
                self.start_meeting(now);
            }
            Command::MuteGuests | Command::UnmuteGuests => {
                self.require_host(actor)?;
                let mute = command == Command::MuteGuests;
                self.guests_muted = mute;
                for i in 0..self.slots.len() {
                    let state = &mut self.slots[i].state;
                    if state.role == Role::Guest && state.is_muted != mute {
                        state.is_muted = mute;
                        self.push_updated(i);
                    }
                }
            }
            Command::SetGuestsCanUnmute(allowed) => {
                self.require_host(actor)?;
                self.guests_can_unmute = allowed;
            }
            Command::DisconnectAll => {
                self.require_host(actor)?;
                self.end(match actor {
                    Actor::Admin | Actor::Node => DisconnectReason::ConferenceEndedByAdmin,
                    Actor::Participant(_) => DisconnectReason::ConferenceEndedByHost,
                });
            }
            Command::SendMessage { to, kind, payload } => {
                let from = self.require_member(actor)?;
                if !self.service.chat_enabled {
                    return Err(Refusal::ChatDisabled);
                }
                if payload.is_empty() || payload.len() > MAX_MESSAGE_BYTES {
                    return Err(Refusal::BadMessage);
                }
                if let Some(to) = to {
                    let target = self.index_of(to).ok_or(Refusal::UnknownParticipant)?;
                    if !self.slots[target].state.is_admitted() {
                        return Err(Refusal::StillWaiting);
                    }
                }
                let from_name = self.slots[from].state.display_name.clone();
                let from = self.slots[from].state.id;
                self.events.push_back(Event::MessageSent {
                    from,
                    from_name,
                    to,
                    kind,
                    payload,
                });
            }
            Command::TransformLayout {
                layout,
                host_layout,
                guest_layout,
                overlay_text,
                reset,
            } => {
                self.require_host(actor)?;
                if reset {
                    self.host_layout = self.service.default_layout;
                    self.guest_layout = self.service.default_layout;
                    self.overlay_text_enabled = false;
                }
                match self.service.kind {
                    ServiceKind::Auditorium => {
                        if let Some(l) = host_layout.or(layout) {
                            self.host_layout = l;
                        }
                        if let Some(l) = guest_layout {
                            self.guest_layout = l;
                        }
                    }
                    _ => {
                        if let Some(l) = layout.or(host_layout).or(guest_layout) {
                            self.host_layout = l;
                            self.guest_layout = l;
                        }
                    }
                }
                if let Some(on) = overlay_text {
                    self.overlay_text_enabled = on;
                }
            }
            Command::LowerAllHands => {
                self.require_host(actor)?;
                for i in 0..self.slots.len() {
                    if self.slots[i].state.hand_raised_at.take().is_some() {
                        self.push_updated(i);
                    }
                }
            }
            Command::Disconnect(target) => {
                let i = self.index_of(target).ok_or(Refusal::UnknownParticipant)?;
                let reason = match actor {
                    Actor::Admin | Actor::Node => DisconnectReason::DisconnectedByAdmin,
                    Actor::Participant(id) if id == target => DisconnectReason::UserInitiated,
                    Actor::Participant(_) => {
                        self.require_host(actor)?;
                        DisconnectReason::DisconnectedByHost
                    }
                };
                let id = self.slots[i].state.id;
                self.remove(id, reason);
            }
            Command::Mute(target) => {
                let i = self.require_self_or_host(actor, target)?;
                self.set_flag(i, |s| &mut s.is_muted, true);
            }
            Command::Unmute(target) => {
                let i = self.require_self_or_host(actor, target)?;
                let is_self = actor == Actor::Participant(target);
                if is_self && self.slots[i].state.role == Role::Guest && !self.guests_can_unmute {
                    return Err(Refusal::GuestsCannotUnmute);
                }
                self.set_flag(i, |s| &mut s.is_muted, false);
            }
            Command::ClientMute(target) | Command::ClientUnmute(target) => {
                let i = self.require_self(actor, target)?;
                let on = matches!(command, Command::ClientMute(_));
                self.set_flag(i, |s| &mut s.is_client_muted, on);
            }
            Command::VideoMute(target) | Command::VideoUnmute(target) => {
                let i = self.require_self_or_host(actor, target)?;
                let on = matches!(command, Command::VideoMute(_));
                self.set_flag(i, |s| &mut s.is_video_muted, on);
            }
            Command::AllowPresentation(target) | Command::DenyPresentation(target) => {
                let i = self.require_self_or_host(actor, target)?;
                let allow = matches!(command, Command::AllowPresentation(_));
                self.set_flag(i, |s| &mut s.receives_presentation, allow);
            }
            Command::SpotlightOn(target) | Command::SpotlightOff(target) => {
                self.require_host(actor)?;
                let i = self.require_admitted_target(target)?;
                let on = matches!(command, Command::SpotlightOn(_));
                let state = &mut self.slots[i].state;
                if on != state.spotlight_since.is_some() {
                    state.spotlight_since = on.then_some(now);
                    self.push_updated(i);
                }
            }
            Command::Admit(target) => {
                self.require_host(actor)?;
                let i = self.index_of(target).ok_or(Refusal::UnknownParticipant)?;
                if self.slots[i].state.waiting != Some(Waiting::ForAdmission) {
                    return Err(Refusal::NotWaiting);
                }
                self.admit(now, i);
            }
            Command::SetOverlayText(target, text) => {
                self.require_host(actor)?;
                let i = self.index_of(target).ok_or(Refusal::UnknownParticipant)?;
                let text = text.trim();
                if text.chars().count() > MAX_OVERLAY_CHARS {
                    return Err(Refusal::OverlayTooLong);
                }
                if self.slots[i].state.overlay_text != text {
                    self.slots[i].state.overlay_text = text.to_owned();
                    self.push_updated(i);
                }
            }
            Command::SetRole(target, role) => {
                self.require_host(actor)?;
                let i = self.require_admitted_target(target)?;
                if actor == Actor::Participant(target) && role == Role::Guest {
                    return Err(Refusal::SelfDemotion);
                }
                if self.slots[i].state.external {
                    return Err(Refusal::ExternalRoleFixed);
                }
                self.set_role(now, i, role);
            }
            Command::PromoteWithHostPin => {
                let Actor::Participant(id) = actor else {
                    return Err(Refusal::SelfOnly);
                };
                let i = self.index_of(id).ok_or(Refusal::UnknownParticipant)?;
                if self.slots[i].state.external {
                    return Err(Refusal::ExternalRoleFixed);
                }
                self.slots[i].state.bypasses_lock = true;
                match self.slots[i].state.waiting {
                    None => self.set_role(now, i, Role::Host),
                    Some(_) => {
                        self.slots[i].state.role = Role::Host;
                        self.admit(now, i);
                    }
                }
            }
            Command::RaiseHand(target) => {
                let i = self.require_self(actor, target)?;
                if self.slots[i].state.hand_raised_at.is_none() {
                    self.slots[i].state.hand_raised_at = Some(now);
                    self.push_updated(i);
                }
            }
            Command::LowerHand(target) => {
                let i = self.require_self_or_host(actor, target)?;
                if self.slots[i].state.hand_raised_at.take().is_some() {
                    self.push_updated(i);
                }
            }
            Command::TakeFloor => {
                let i = self.require_member(actor)?;
                let state = &self.slots[i].state;
                if state.role == Role::Guest && !self.service.guests_can_present {
                    return Err(Refusal::PresentationNotAllowed);
                }
                let id = state.id;
                if self.presenter == Some(id) {
                    return Ok(());
                }
                let replaced = self.presenter.take();
                if let Some(old) = replaced.and_then(|old| self.index_of(old)) {
                    self.slots[old].state.is_presenting = false;
                    self.push_updated(old);
                }
                self.presenter = Some(id);
                self.slots[i].state.is_presenting = true;
                self.push_updated(i);
                let presenter_name = self.slots[i].state.display_name.clone();
                self.events.push_back(Event::PresentationStarted {
                    presenter: id,
                    presenter_name,
                    replaced,
                });
            }
            Command::ReleaseFloor => {
                let i = self.require_member(actor)?;
                if self.presenter == Some(self.slots[i].state.id) {
                    self.stop_presentation();
                }
            }
            Command::Transfer {
                target,
                alias,
                role,
                ticket,
            } => {
                let i = self.require_self_or_host(actor, target)?;
                if self.slots[i].state.waiting.is_some() {
                    return Err(Refusal::StillWaiting);
                }
                self.events.push_back(Event::ParticipantReferred {
                    id: target,
                    alias,
                    role,
                    ticket,
                });
            }
            Command::Dial(request) => {
                self.require_host(actor)?;
                if matches!(
                    self.service.kind,
                    ServiceKind::TestCall | ServiceKind::Reception
                ) {
                    return Err(Refusal::WrongService);
                }
                if self.index_of(request.id).is_some() {
                    return Err(Refusal::DuplicateId);
                }
                if let Some(limit) = self.service.participant_limit
                    && self.slots.len() >= limit as usize
                {
                    return Err(Refusal::Full);
                }
                let mut slot = self.new_slot(
                    now,
                    JoinRequest {
                        id: request.id,
                        display_name: request.display_name,
                        role: request.role,
                        via_host_pin: false,
                        invited: true,
                        call_type: CallType::ControlOnly,
                        protocol: Protocol::Api,
                        external: false,
                        keeps_alive: request.keeps_alive,
                    },
                );
                slot.state.dialled = true;
                slot.state.connecting = true;
                slot.deadline = Some(now + self.service.timeouts.ring);
                self.events
                    .push_back(Event::ParticipantJoined(slot.state.clone()));
                self.slots.push(slot);
            }
            Command::SendDtmf { target, digits } => {
                let i = self.require_self_or_host(actor, target)?;
                let valid =
                    |c: char| c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D' | 'a'..='d');
                if digits.is_empty() || digits.len() > MAX_DTMF_DIGITS || !digits.chars().all(valid)
                {
                    return Err(Refusal::BadDigits);
                }
                let digits = digits.to_ascii_uppercase();
                self.events.push_back(Event::DtmfSent {
                    by: actor,
                    target,
                    digits: digits.clone(),
                });
                // Only tones a participant keys itself can be its PIN: a Host sending
                // tones toward someone's leg must not promote them.
                if actor == Actor::Participant(target) {
                    self.key_host_pin(now, i, &digits);
                }
            }
        }
        Ok(())
    }

    /// Tones participant `i` keyed itself (it is admitted: waiting participants can't
    /// send tones, so this is no way around the waiting room). In a meeting with a Host
    /// PIN a Guest who keys the Host PIN and `#` becomes Host exactly as if a Host had
    /// changed its role (behaviour §2); after [`crate::pin::KEYED_PIN_ATTEMPTS`] wrong
    /// entries its tones no longer count. Hosts' and externals' tones change nothing.
    fn key_host_pin(&mut self, now: Instant, i: usize, tones: &str) {
        let service = Arc::clone(&self.service);
        let Some(host_pin) = &service.host_pin else {
            return;
        };
        for tone in tones.chars() {
            let slot = &mut self.slots[i];
            if !slot.state.is_admitted() || slot.state.role != Role::Guest || slot.state.external {
                slot.keypad.clear();
                return;
            }
            let Some(verdict) = slot.keypad.press(tone, host_pin) else {
                continue;
            };
            let id = slot.state.id;
            if verdict == KeyedPin::Correct {
                slot.state.bypasses_lock = true;
                self.set_role(now, i, Role::Host);
            }
            self.events.push_back(Event::HostPinKeyed { id, verdict });
        }
    }

    /// The actor's slot, if it is an admitted participant.
    fn require_member(&self, actor: Actor) -> Result<usize, Refusal> {
        let Actor::Participant(id) = actor else {
            return Err(Refusal::SelfOnly);
        };
        let i = self.index_of(id).ok_or(Refusal::UnknownParticipant)?;
        if !self.slots[i].state.is_admitted() {
            return Err(Refusal::StillWaiting);
        }
        Ok(i)
    }

    /// Admins and admitted Hosts pass.
    fn require_host(&self, actor: Actor) -> Result<(), Refusal> {
        if let Actor::Participant(_) = actor {
            let i = self.require_member(actor)?;
            if self.slots[i].state.role != Role::Host {
                return Err(Refusal::HostOnly);
            }
        }
        Ok(())
    }

    /// The target's slot, when the actor is the target itself (admitted), a Host or an
    /// admin.
    fn require_self_or_host(&self, actor: Actor, target: ParticipantId) -> Result<usize, Refusal> {
        if actor == Actor::Participant(target) {
            return self.require_member(actor);
        }
        self.require_host(actor)?;
        self.index_of(target).ok_or(Refusal::UnknownParticipant)
    }

    /// The target's slot, when the actor is the target itself and admitted.
    fn require_self(&self, actor: Actor, target: ParticipantId) -> Result<usize, Refusal> {
        if actor != Actor::Participant(target) {
            self.require_member(actor)?;
            if self.index_of(target).is_none() {
                return Err(Refusal::UnknownParticipant);
            }
            return Err(Refusal::SelfOnly);
        }
        self.require_member(actor)
    }

    fn require_admitted_target(&self, target: ParticipantId) -> Result<usize, Refusal> {
        let i = self.index_of(target).ok_or(Refusal::UnknownParticipant)?;
        if !self.slots[i].state.is_admitted() {
            return Err(Refusal::StillWaiting);
        }
        Ok(i)
    }
}

// === lifecycle ===

impl Conference {
    /// A participant's first state, not yet placed (in, or in a waiting room).
    fn new_slot(&self, now: Instant, request: JoinRequest) -> Slot {
        let role = if self.service.kind == ServiceKind::TestCall {
            Role::Host
        } else {
            request.role
        };
        let state = ParticipantState {
            id: request.id,
            display_name: request.display_name,
            role,
            waiting: None,
            call_type: request.call_type,
            protocol: request.protocol,
            external: request.external,
            keeps_alive: request.keeps_alive,
            dialled: false,
            connecting: false,
            joined_at: now,
            is_muted: self.guests_muted && role == Role::Guest,
            is_client_muted: false,
            is_video_muted: false,
            spotlight_since: None,
            hand_raised_at: None,
            receives_presentation: true,
            is_presenting: false,
            overlay_text: String::new(),
            has_media: false,
            is_speaking: false,
            is_video_silent: false,
            last_spoken_at: None,
            bypasses_lock: request.via_host_pin || (request.invited && role == Role::Host),
        };
        Slot {
            state,
            deadline: None,
            keypad: PinKeypad::new(),
        }
    }

    fn index_of(&self, id: ParticipantId) -> Option<usize> {
        self.slots.iter().position(|s| s.state.id == id)
    }

    fn push_updated(&mut self, i: usize) {
        self.events
            .push_back(Event::ParticipantUpdated(self.slots[i].state.clone()));
    }

    fn set_flag(
        &mut self,
        i: usize,
        field: impl Fn(&mut ParticipantState) -> &mut bool,
        value: bool,
    ) {
        if std::mem::replace(field(&mut self.slots[i].state), value) != value {
            self.push_updated(i);
        }
    }

    /// Where a participant goes when nothing holds them at the door: Guests of a
    /// meeting that has not started wait for a Host (until a deadline), everyone else
    /// is in.
    fn placement(&self, now: Instant, role: Role) -> (Option<Waiting>, Option<Instant>) {
        if self.service.has_guest_role() && role == Role::Guest && !self.started {
            (
                Some(Waiting::ForHost),
                Some(now + self.service.timeouts.waiting_for_host),
            )
        } else {
            (None, None)
        }
    }

    /// Where someone arriving (joining, or answering a dial) goes: a locked meeting holds
    /// whoever does not pass the lock for admission, else [`Conference::placement`].
    fn arrival(
        &self,
        now: Instant,
        state: &ParticipantState,
    ) -> (Option<Waiting>, Option<Instant>) {
        if self.locked && !state.bypasses_lock {
            (
                Some(Waiting::ForAdmission),
                Some(now + self.service.timeouts.admission),
            )
        } else {
            self.placement(now, state.role)
        }
    }

    /// Lets a waiting participant through the lock (a Guest may go on to wait for a
    /// Host).
    fn admit(&mut self, now: Instant, i: usize) {
        let (waiting, deadline) = self.placement(now, self.slots[i].state.role);
        let slot = &mut self.slots[i];
        let changed = slot.state.waiting != waiting;
        slot.state.waiting = waiting;
        if changed {
            slot.deadline = deadline;
        }
        let starts = slot.state.is_host() && slot.state.call_type.has_audio_or_video();
        if changed {
            self.push_updated(i);
        }
        if starts {
            self.start_meeting(now);
        }
    }

    fn start_meeting(&mut self, now: Instant) {
        if self.started {
            return;
        }
        self.started = true;
        let waiting: Vec<usize> = (0..self.slots.len())
            .filter(|&i| self.slots[i].state.waiting == Some(Waiting::ForHost))
            .collect();
        for i in waiting {
            self.admit(now, i);
        }
    }

    fn set_role(&mut self, now: Instant, i: usize, role: Role) {
        let state = &mut self.slots[i].state;
        if state.role == role {
            return;
        }
        state.role = role;
        if role == Role::Guest && self.guests_muted {
            state.is_muted = true;
        }
        let starts = state.is_host() && state.call_type.has_audio_or_video();
        self.push_updated(i);
        if starts {
            self.start_meeting(now);
        }
    }

    fn stop_presentation(&mut self) {
        if let Some(presenter) = self.presenter.take() {
            if let Some(i) = self.index_of(presenter) {
                self.slots[i].state.is_presenting = false;
                self.push_updated(i);
            }
            self.events
                .push_back(Event::PresentationStopped { presenter });
        }
    }

    /// Takes a participant out; returns false if it was not here.
    fn remove(&mut self, id: ParticipantId, reason: DisconnectReason) -> bool {
        let Some(i) = self.index_of(id) else {
            return false;
        };
        if self.presenter == Some(id) {
            self.stop_presentation();
        }
        let slot = self.slots.remove(i);
        self.last_departure = Some(reason);
        self.events.push_back(Event::ParticipantLeft {
            participant: slot.state,
            reason,
        });
        true
    }

    /// Disconnects everyone with `reason` and ends the conference.
    fn end(&mut self, reason: DisconnectReason) {
        self.stop_presentation();
        for slot in std::mem::take(&mut self.slots) {
            self.events.push_back(Event::ParticipantLeft {
                participant: slot.state,
                reason,
            });
        }
        self.finish(reason);
    }

    fn finish(&mut self, reason: DisconnectReason) {
        if self.ended.is_none() {
            self.ended = Some(reason);
            self.hosts_left_deadline = None;
            self.alone_deadline = None;
            self.events.push_back(Event::ConferenceEnded { reason });
        }
    }

    /// Re-derives timers and views after any change, publishing what changed.
    fn after_change(&mut self, now: Instant) {
        if self.ended.is_some() {
            return;
        }
        if self.slots.is_empty() {
            self.finish(DisconnectReason::UserInitiated);
            return;
        }
        if self.service.kind == ServiceKind::PersonCall
            && self.slots.len() == 1
            && let Some(departed) = self.last_departure
        {
            // One of two parties went: the call is over for the other, with the outcome
            // of the ringing when it was not answered.
            self.end(match departed {
                DisconnectReason::CallDeclined | DisconnectReason::CallNotAnswered => departed,
                _ => DisconnectReason::CallDisconnected,
            });
            return;
        }
        // A participant still ringing keeps nothing alive: it is not in the meeting yet.
        if !self
            .slots
            .iter()
            .any(|s| s.state.keeps_alive && !s.state.connecting)
        {
            self.end(DisconnectReason::NoParticipantsCanKeepAlive);
            return;
        }
        self.update_hosts_left(now);
        self.update_alone(now);
        self.publish_views();
    }

    /// Starts the grace period when a meeting with Guests has no Host any more, and
    /// cancels it when a Host is back.
    fn update_hosts_left(&mut self, now: Instant) {
        let applies = self.service.has_guest_role() && self.started;
        let any_host = self.slots.iter().any(|s| s.state.is_host());
        if !applies || any_host {
            self.hosts_left_deadline = None;
        } else if self.hosts_left_deadline.is_none() {
            self.hosts_left_deadline = Some(now + self.service.timeouts.hosts_left_grace);
        }
    }

    /// Starts the alone timer when exactly one admitted participant remains.
    fn update_alone(&mut self, now: Instant) {
        let alone = self.slots.len() == 1 && self.slots[0].state.is_admitted();
        match (self.service.timeouts.alone, alone) {
            (Some(after), true) if self.service.kind != ServiceKind::TestCall => {
                self.alone_deadline.get_or_insert(now + after);
            }
            _ => self.alone_deadline = None,
        }
    }

    fn publish_views(&mut self) {
        let status = self.status();
        if status != self.last_status {
            self.last_status = status.clone();
            self.events.push_back(Event::ConferenceUpdated(status));
        }
        let stage = self.compute_stage();
        if stage != self.last_stage {
            self.last_stage = stage.clone();
            self.events.push_back(Event::StageChanged(stage));
        }
        let on_screen: Vec<ParticipantId> = self
            .last_stage
            .iter()
            .take(self.host_layout.capacity())
            .map(|e| e.id)
            .collect();
        let layout = LayoutState {
            host_layout: self.host_layout,
            guest_layout: self.guest_layout,
            overlay_text_enabled: self.overlay_text_enabled,
            on_screen,
        };
        if layout != self.last_layout {
            self.last_layout = layout.clone();
            self.events.push_back(Event::LayoutChanged(layout));
        }
    }

    /// Speaker order: spotlit participants first (in the order they were spotlit), then
    /// the most recent speakers, then arrival order. Only admitted participants with
    /// audio or video are on stage.
    fn compute_stage(&self) -> Vec<StageEntry> {
        let mut on_stage: Vec<&ParticipantState> = self
            .slots
            .iter()
            .map(|s| &s.state)
            .filter(|s| s.is_admitted() && s.call_type.has_audio_or_video())
            .collect();
        // Stable sort keeps arrival order among equals.
        on_stage.sort_by(|a, b| {
            let spot = |s: &ParticipantState| s.spotlight_since.map_or((1, None), |t| (0, Some(t)));
            spot(a)
                .cmp(&spot(b))
                .then_with(|| b.last_spoken_at.cmp(&a.last_spoken_at))
        });
        on_stage
            .into_iter()
            .enumerate()
            .map(|(stage_index, s)| StageEntry {
                id: s.id,
                stage_index,
                speaking: s.is_speaking,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
