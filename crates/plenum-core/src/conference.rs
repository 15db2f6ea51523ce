//! One running meeting: participants, roles, lock and waiting room, controls, floor,
//! chat, lifecycle timers. Sans-IO: mutated by `handle_*`, drained by `poll_*`.

mod apply;
mod command;
mod event;
mod lifecycle;

pub use command::{
    Actor, Command, DialRequest, JoinError, JoinOutcome, JoinRequest, MAX_DTMF_DIGITS,
    MAX_MESSAGE_BYTES, MAX_OVERLAY_CHARS, MediaReport, MessageKind, Refusal,
};
pub use event::{ConferenceSnapshot, ConferenceStatus, Event, LayoutState, StageEntry};

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use crate::disconnect::DisconnectReason;
use crate::layout::Layout;
use crate::participant::{ParticipantId, ParticipantState};
use crate::pin::PinKeypad;
use crate::role::{CallType, Protocol};
use crate::service::{ServiceConfig, ServiceKind};

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

#[cfg(test)]
mod tests;
