//! A participant's way through the meeting (arrival, waiting, admission, role, leaving)
//! and the meeting's own (start, timers, end), with the derived views published after
//! every change.

use std::time::Instant;

use crate::disconnect::DisconnectReason;
use crate::participant::{ParticipantId, ParticipantState, Waiting};
use crate::pin::PinKeypad;
use crate::role::Role;
use crate::service::ServiceKind;

use super::*;

impl Conference {
    /// A participant's first state, not yet placed (in, or in a waiting room).
    pub(super) fn new_slot(&self, now: Instant, request: JoinRequest) -> Slot {
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

    pub(super) fn index_of(&self, id: ParticipantId) -> Option<usize> {
        self.slots.iter().position(|s| s.state.id == id)
    }

    pub(super) fn push_updated(&mut self, i: usize) {
        self.events
            .push_back(Event::ParticipantUpdated(self.slots[i].state.clone()));
    }

    pub(super) fn set_flag(
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
    pub(super) fn placement(&self, now: Instant, role: Role) -> (Option<Waiting>, Option<Instant>) {
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
    pub(super) fn arrival(
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
    pub(super) fn admit(&mut self, now: Instant, i: usize) {
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

    pub(super) fn start_meeting(&mut self, now: Instant) {
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

    pub(super) fn set_role(&mut self, now: Instant, i: usize, role: Role) {
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

    pub(super) fn stop_presentation(&mut self) {
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
    pub(super) fn remove(&mut self, id: ParticipantId, reason: DisconnectReason) -> bool {
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
    pub(super) fn end(&mut self, reason: DisconnectReason) {
        self.stop_presentation();
        for slot in std::mem::take(&mut self.slots) {
            self.events.push_back(Event::ParticipantLeft {
                participant: slot.state,
                reason,
            });
        }
        self.finish(reason);
    }

    pub(super) fn finish(&mut self, reason: DisconnectReason) {
        if self.ended.is_none() {
            self.ended = Some(reason);
            self.hosts_left_deadline = None;
            self.alone_deadline = None;
            self.events.push_back(Event::ConferenceEnded { reason });
        }
    }

    /// Re-derives timers and views after any change, publishing what changed.
    pub(super) fn after_change(&mut self, now: Instant) {
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
    pub(super) fn update_hosts_left(&mut self, now: Instant) {
        let applies = self.service.has_guest_role() && self.started;
        let any_host = self.slots.iter().any(|s| s.state.is_host());
        if !applies || any_host {
            self.hosts_left_deadline = None;
        } else if self.hosts_left_deadline.is_none() {
            self.hosts_left_deadline = Some(now + self.service.timeouts.hosts_left_grace);
        }
    }

    /// Starts the alone timer when exactly one admitted participant remains.
    pub(super) fn update_alone(&mut self, now: Instant) {
        let alone = self.slots.len() == 1 && self.slots[0].state.is_admitted();
        match (self.service.timeouts.alone, alone) {
            (Some(after), true) if self.service.kind != ServiceKind::TestCall => {
                self.alone_deadline.get_or_insert(now + after);
            }
            _ => self.alone_deadline = None,
        }
    }

    pub(super) fn publish_views(&mut self) {
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
    pub(super) fn compute_stage(&self) -> Vec<StageEntry> {
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
