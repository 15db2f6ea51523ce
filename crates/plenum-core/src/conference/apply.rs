//! Carrying out a command: who may do it, what it changes, the events it queues.

use std::sync::Arc;
use std::time::Instant;

use crate::disconnect::DisconnectReason;
use crate::layout::Layout;
use crate::participant::{ParticipantId, Waiting};
use crate::pin::KeyedPin;
use crate::role::{CallType, Protocol, Role};
use crate::service::ServiceKind;

use super::*;

impl Conference {
    /// Carries out `command` for `actor`, or says why not (nothing changed then).
    pub(super) fn apply(
        &mut self,
        now: Instant,
        actor: Actor,
        command: Command,
    ) -> Result<(), Refusal> {
        match command {
            Command::Lock => self.set_locked(now, actor, true),
            Command::Unlock => self.set_locked(now, actor, false),
            Command::StartConference => {
                self.require_host(actor)?;
                self.start_meeting(now);
                Ok(())
            }
            Command::MuteGuests => self.mute_guests(actor, true),
            Command::UnmuteGuests => self.mute_guests(actor, false),
            Command::SetGuestsCanUnmute(allowed) => {
                self.require_host(actor)?;
                self.guests_can_unmute = allowed;
                Ok(())
            }
            Command::DisconnectAll => self.disconnect_all(actor),
            Command::SendMessage { to, kind, payload } => {
                self.send_message(actor, to, kind, payload)
            }
            Command::TransformLayout {
                layout,
                host_layout,
                guest_layout,
                overlay_text,
                reset,
            } => {
                self.require_host(actor)?;
                self.transform_layout(layout, host_layout, guest_layout, overlay_text, reset);
                Ok(())
            }
            Command::LowerAllHands => self.lower_all_hands(actor),
            Command::Disconnect(target) => self.disconnect(actor, target),
            Command::Mute(target) => {
                let i = self.require_self_or_host(actor, target)?;
                self.set_flag(i, |s| &mut s.is_muted, true);
                Ok(())
            }
            Command::Unmute(target) => self.unmute(actor, target),
            Command::ClientMute(target) | Command::ClientUnmute(target) => {
                let i = self.require_self(actor, target)?;
                let on = matches!(command, Command::ClientMute(_));
                self.set_flag(i, |s| &mut s.is_client_muted, on);
                Ok(())
            }
            Command::VideoMute(target) | Command::VideoUnmute(target) => {
                let i = self.require_self_or_host(actor, target)?;
                let on = matches!(command, Command::VideoMute(_));
                self.set_flag(i, |s| &mut s.is_video_muted, on);
                Ok(())
            }
            Command::AllowPresentation(target) | Command::DenyPresentation(target) => {
                let i = self.require_self_or_host(actor, target)?;
                let allow = matches!(command, Command::AllowPresentation(_));
                self.set_flag(i, |s| &mut s.receives_presentation, allow);
                Ok(())
            }
            Command::SpotlightOn(target) => self.spotlight(now, actor, target, true),
            Command::SpotlightOff(target) => self.spotlight(now, actor, target, false),
            Command::Admit(target) => self.admit_waiting(now, actor, target),
            Command::SetOverlayText(target, text) => self.set_overlay_text(actor, target, &text),
            Command::SetRole(target, role) => self.change_role(now, actor, target, role),
            Command::PromoteWithHostPin => self.promote_with_host_pin(now, actor),
            Command::RaiseHand(target) => {
                let i = self.require_self(actor, target)?;
                if self.slots[i].state.hand_raised_at.is_none() {
                    self.slots[i].state.hand_raised_at = Some(now);
                    self.push_updated(i);
                }
                Ok(())
            }
            Command::LowerHand(target) => {
                let i = self.require_self_or_host(actor, target)?;
                if self.slots[i].state.hand_raised_at.take().is_some() {
                    self.push_updated(i);
                }
                Ok(())
            }
            Command::TakeFloor => self.take_floor(actor),
            Command::ReleaseFloor => {
                let i = self.require_member(actor)?;
                if self.presenter == Some(self.slots[i].state.id) {
                    self.stop_presentation();
                }
                Ok(())
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
                Ok(())
            }
            Command::Dial(request) => self.dial(now, actor, request),
            Command::SendDtmf { target, digits } => self.send_dtmf(now, actor, target, &digits),
        }
    }

    // === the meeting (Host) ===

    /// Lock; or unlock and admit everyone waiting for admission.
    fn set_locked(&mut self, now: Instant, actor: Actor, locked: bool) -> Result<(), Refusal> {
        self.require_host(actor)?;
        self.locked = locked;
        if !locked {
            let waiting: Vec<usize> = (0..self.slots.len())
                .filter(|&i| self.slots[i].state.waiting == Some(Waiting::ForAdmission))
                .collect();
            for i in waiting {
                self.admit(now, i);
            }
        }
        Ok(())
    }

    fn mute_guests(&mut self, actor: Actor, mute: bool) -> Result<(), Refusal> {
        self.require_host(actor)?;
        self.guests_muted = mute;
        for i in 0..self.slots.len() {
            let state = &mut self.slots[i].state;
            if state.role == Role::Guest && state.is_muted != mute {
                state.is_muted = mute;
                self.push_updated(i);
            }
        }
        Ok(())
    }

    fn disconnect_all(&mut self, actor: Actor) -> Result<(), Refusal> {
        self.require_host(actor)?;
        self.end(match actor {
            Actor::Admin | Actor::Node => DisconnectReason::ConferenceEndedByAdmin,
            Actor::Participant(_) => DisconnectReason::ConferenceEndedByHost,
        });
        Ok(())
    }

    /// `layout` sets a VMR's layout (an auditorium's Hosts' one); `host_layout` and
    /// `guest_layout` set an auditorium's per role; `reset` first goes back to the
    /// service default.
    fn transform_layout(
        &mut self,
        layout: Option<Layout>,
        host_layout: Option<Layout>,
        guest_layout: Option<Layout>,
        overlay_text: Option<bool>,
        reset: bool,
    ) {
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

    fn lower_all_hands(&mut self, actor: Actor) -> Result<(), Refusal> {
        self.require_host(actor)?;
        for i in 0..self.slots.len() {
            if self.slots[i].state.hand_raised_at.take().is_some() {
                self.push_updated(i);
            }
        }
        Ok(())
    }

    // === chat ===

    fn send_message(
        &mut self,
        actor: Actor,
        to: Option<ParticipantId>,
        kind: MessageKind,
        payload: String,
    ) -> Result<(), Refusal> {
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
        Ok(())
    }

    // === one participant ===

    /// Disconnect `target`: by an admin, itself, or a Host (rejects a waiting one).
    fn disconnect(&mut self, actor: Actor, target: ParticipantId) -> Result<(), Refusal> {
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
        Ok(())
    }

    /// A Guest unmutes itself only where Guests may.
    fn unmute(&mut self, actor: Actor, target: ParticipantId) -> Result<(), Refusal> {
        let i = self.require_self_or_host(actor, target)?;
        let is_self = actor == Actor::Participant(target);
        if is_self && self.slots[i].state.role == Role::Guest && !self.guests_can_unmute {
            return Err(Refusal::GuestsCannotUnmute);
        }
        self.set_flag(i, |s| &mut s.is_muted, false);
        Ok(())
    }

    fn spotlight(
        &mut self,
        now: Instant,
        actor: Actor,
        target: ParticipantId,
        on: bool,
    ) -> Result<(), Refusal> {
        self.require_host(actor)?;
        let i = self.require_admitted_target(target)?;
        let state = &mut self.slots[i].state;
        if on != state.spotlight_since.is_some() {
            state.spotlight_since = on.then_some(now);
            self.push_updated(i);
        }
        Ok(())
    }

    fn admit_waiting(
        &mut self,
        now: Instant,
        actor: Actor,
        target: ParticipantId,
    ) -> Result<(), Refusal> {
        self.require_host(actor)?;
        let i = self.index_of(target).ok_or(Refusal::UnknownParticipant)?;
        if self.slots[i].state.waiting != Some(Waiting::ForAdmission) {
            return Err(Refusal::NotWaiting);
        }
        self.admit(now, i);
        Ok(())
    }

    fn set_overlay_text(
        &mut self,
        actor: Actor,
        target: ParticipantId,
        text: &str,
    ) -> Result<(), Refusal> {
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
        Ok(())
    }

    /// A Host makes someone Host or Guest: not itself Guest, not an external.
    fn change_role(
        &mut self,
        now: Instant,
        actor: Actor,
        target: ParticipantId,
        role: Role,
    ) -> Result<(), Refusal> {
        self.require_host(actor)?;
        let i = self.require_admitted_target(target)?;
        if actor == Actor::Participant(target) && role == Role::Guest {
            return Err(Refusal::SelfDemotion);
        }
        if self.slots[i].state.external {
            return Err(Refusal::ExternalRoleFixed);
        }
        self.set_role(now, i, role);
        Ok(())
    }

    /// The actor proved the Host PIN from inside (or from a waiting room): Host, and in.
    fn promote_with_host_pin(&mut self, now: Instant, actor: Actor) -> Result<(), Refusal> {
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
        Ok(())
    }

    // === the presentation floor ===

    /// The actor takes the floor (from whoever had it); Guests only where allowed.
    fn take_floor(&mut self, actor: Actor) -> Result<(), Refusal> {
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
        Ok(())
    }

    // === calls out and tones ===

    /// Ring someone: shown as connecting until they answer or the ring times out.
    fn dial(&mut self, now: Instant, actor: Actor, request: DialRequest) -> Result<(), Refusal> {
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
        Ok(())
    }

    fn send_dtmf(
        &mut self,
        now: Instant,
        actor: Actor,
        target: ParticipantId,
        digits: &str,
    ) -> Result<(), Refusal> {
        let i = self.require_self_or_host(actor, target)?;
        let valid = |c: char| c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D' | 'a'..='d');
        if digits.is_empty() || digits.len() > MAX_DTMF_DIGITS || !digits.chars().all(valid) {
            return Err(Refusal::BadDigits);
        }
        let digits = digits.to_ascii_uppercase();
        self.events.push_back(Event::DtmfSent {
            by: actor,
            target,
            digits: digits.clone(),
        });
        // Only tones a participant keys itself can be its PIN: a Host sending tones
        // toward someone's leg must not promote them.
        if actor == Actor::Participant(target) {
            self.key_host_pin(now, i, &digits);
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
