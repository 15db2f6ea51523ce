//! Scenario tests of the conference rules (behavior.md §2–5, §12) on a virtual clock.

// Tests read the real clock once, for an arbitrary origin; time then moves only by hand.
#![allow(clippy::disallowed_methods)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::participant::Waiting;
use crate::pin::{KeyedPin, Pin};
use crate::role::Role;
use crate::secret::Secret;

/// A conference on a virtual clock that records every event it emits.
struct TestConference {
    conference: Conference,
    now: Instant,
    events: Vec<Event>,
    next_id: u128,
}

impl TestConference {
    fn new(service: ServiceConfig) -> TestConference {
        service.validate().expect("test services are valid");
        let now = Instant::now();
        TestConference {
            conference: Conference::new(now, Arc::new(service)),
            now,
            events: Vec::new(),
            next_id: 1,
        }
    }

    fn vmr() -> TestConference {
        TestConference::new(ServiceConfig::new("room", ServiceKind::Vmr, &["room"]))
    }

    /// A VMR with Host PIN 1234 and Guests without PIN.
    fn hosted() -> TestConference {
        TestConference::new(hosted_service(ServiceKind::Vmr))
    }

    fn new_id(&mut self) -> ParticipantId {
        self.next_id += 1;
        ParticipantId(uuid::Uuid::from_u128(self.next_id))
    }

    fn drain(&mut self) {
        while let Some(event) = self.conference.poll_event() {
            self.events.push(event);
        }
    }

    fn try_join(
        &mut self,
        build: impl FnOnce(&mut JoinRequest),
    ) -> (ParticipantId, Result<JoinOutcome, JoinError>) {
        let id = self.new_id();
        let mut request = JoinRequest::caller(id, &format!("P{}", self.next_id), Role::Guest);
        build(&mut request);
        let outcome = self.conference.handle_join(self.now, request);
        self.drain();
        (id, outcome)
    }

    fn join_as(&mut self, role: Role, build: impl FnOnce(&mut JoinRequest)) -> ParticipantId {
        let (id, outcome) = self.try_join(|r| {
            r.role = role;
            r.via_host_pin = role == Role::Host;
            build(r)
        });
        outcome.expect("join succeeds");
        id
    }

    fn host(&mut self) -> ParticipantId {
        self.join_as(Role::Host, |_| {})
    }

    fn guest(&mut self) -> ParticipantId {
        self.join_as(Role::Guest, |_| {})
    }

    fn cmd(&mut self, actor: ParticipantId, command: Command) -> Result<(), Refusal> {
        let result = self
            .conference
            .handle_command(self.now, Actor::Participant(actor), command);
        self.drain();
        result
    }

    fn admin(&mut self, command: Command) -> Result<(), Refusal> {
        let result = self
            .conference
            .handle_command(self.now, Actor::Admin, command);
        self.drain();
        result
    }

    fn leave(&mut self, id: ParticipantId) {
        self.conference
            .handle_leave(self.now, id, DisconnectReason::UserInitiated);
        self.drain();
    }

    /// Moves the clock forward by `by`, firing every deadline on the way in order.
    fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        while let Some(deadline) = self.conference.poll_timeout().filter(|d| *d <= target) {
            self.now = self.now.max(deadline);
            self.conference.handle_timeout(self.now);
            self.drain();
        }
        self.now = target;
    }

    fn state(&self, id: ParticipantId) -> &ParticipantState {
        self.conference
            .participant(id)
            .expect("participant is present")
    }

    fn waiting(&self, id: ParticipantId) -> Option<Waiting> {
        self.state(id).waiting
    }

    fn is_present(&self, id: ParticipantId) -> bool {
        self.conference.participant(id).is_some()
    }

    fn left_reason(&self, id: ParticipantId) -> Option<DisconnectReason> {
        self.events.iter().find_map(|e| match e {
            Event::ParticipantLeft {
                participant,
                reason,
            } if participant.id == id => Some(*reason),
            _ => None,
        })
    }

    fn ended(&self) -> Option<DisconnectReason> {
        self.events.iter().find_map(|e| match e {
            Event::ConferenceEnded { reason } => Some(*reason),
            _ => None,
        })
    }

    fn status(&self) -> ConferenceStatus {
        self.conference.status()
    }
}

fn hosted_service(kind: ServiceKind) -> ServiceConfig {
    let mut service = ServiceConfig::new("hosted", kind, &["hosted"]);
    service.host_pin = Some(Pin::parse("1234").expect("valid pin"));
    service
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

// === §2 roles ===

#[test]
fn guest_becomes_host_by_entering_the_host_pin_later() {
    let mut t = TestConference::hosted();
    let _host = t.host();
    let guest = t.guest();
    assert_eq!(t.state(guest).role, Role::Guest);
    t.cmd(guest, Command::PromoteWithHostPin)
        .expect("promotion");
    assert_eq!(t.state(guest).role, Role::Host);
    t.cmd(guest, Command::Lock).expect("new Host may lock");
}

#[test]
fn waiting_guest_entering_the_host_pin_joins_and_starts_the_meeting() {
    let mut t = TestConference::hosted();
    let guest = t.guest();
    assert_eq!(t.waiting(guest), Some(Waiting::ForHost));
    t.cmd(guest, Command::PromoteWithHostPin)
        .expect("promotion");
    assert_eq!(t.waiting(guest), None);
    assert!(t.status().started);
}

// === §3 lifecycle ===

#[test]
fn guest_waits_until_host_joins() {
    let mut t = TestConference::hosted();
    let guest = t.guest();
    assert_eq!(t.waiting(guest), Some(Waiting::ForHost));
    assert!(!t.status().started);
    let _host = t.host();
    assert_eq!(t.waiting(guest), None);
    assert!(t.status().started);
}

#[test]
fn rooms_without_guest_role_are_started_from_the_beginning() {
    let mut t = TestConference::vmr();
    assert!(t.status().started);
    let p = t.join_as(Role::Host, |r| r.call_type = CallType::ControlOnly);
    assert_eq!(t.waiting(p), None);
}

#[test]
fn control_only_host_does_not_start_the_meeting() {
    let mut t = TestConference::hosted();
    let guest = t.guest();
    let host = t.join_as(Role::Host, |r| r.call_type = CallType::ControlOnly);
    assert_eq!(t.waiting(host), None);
    assert_eq!(t.waiting(guest), Some(Waiting::ForHost));
    assert!(!t.status().started);
}

#[test]
fn control_only_host_can_start_the_meeting() {
    let mut t = TestConference::hosted();
    let guest = t.guest();
    let host = t.join_as(Role::Host, |r| r.call_type = CallType::ControlOnly);
    assert_eq!(
        t.cmd(guest, Command::StartConference),
        Err(Refusal::StillWaiting)
    );
    t.cmd(host, Command::StartConference).expect("host starts");
    assert!(t.status().started);
    assert_eq!(t.waiting(guest), None);
}

#[test]
fn audio_only_host_starts_the_meeting() {
    let mut t = TestConference::hosted();
    let guest = t.guest();
    t.join_as(Role::Host, |r| r.call_type = CallType::AudioOnly);
    assert_eq!(t.waiting(guest), None);
}

#[test]
fn guest_waiting_too_long_for_the_host_gets_pex126() {
    let mut t = TestConference::hosted();
    let guest = t.guest();
    t.advance(secs(899));
    assert!(t.is_present(guest));
    t.advance(secs(1));
    assert_eq!(
        t.left_reason(guest),
        Some(DisconnectReason::WaitingTimedOut)
    );
    assert_eq!(DisconnectReason::WaitingTimedOut.pex_code(), Some(126));
}

#[test]
fn last_host_leaving_disconnects_guests_after_the_grace_period_with_pex141() {
    let mut t = TestConference::hosted();
    let host = t.host();
    let guest = t.guest();
    t.leave(host);
    t.advance(secs(59));
    assert!(t.is_present(guest));
    t.advance(secs(1));
    assert_eq!(t.left_reason(guest), Some(DisconnectReason::AllHostsLeft));
    assert_eq!(t.ended(), Some(DisconnectReason::AllHostsLeft));
    assert_eq!(DisconnectReason::AllHostsLeft.pex_code(), Some(141));
}

#[test]
fn returning_host_cancels_the_hosts_left_grace_period() {
    let mut t = TestConference::hosted();
    let host = t.host();
    let guest = t.guest();
    t.leave(host);
    t.advance(secs(30));
    t.host();
    t.advance(secs(600));
    assert!(t.is_present(guest));
}

#[test]
fn promoting_a_guest_cancels_the_hosts_left_grace_period() {
    let mut t = TestConference::hosted();
    let host = t.host();
    let guest = t.guest();
    let other = t.host();
    t.cmd(other, Command::SetRole(guest, Role::Host))
        .expect("promote");
    t.leave(host);
    t.leave(other);
    t.advance(secs(600));
    assert!(t.is_present(guest));
}

#[test]
fn alone_participant_is_removed_after_the_alone_timeout_with_pex142() {
    let mut service = ServiceConfig::new("room", ServiceKind::Vmr, &["room"]);
    service.timeouts.alone = Some(secs(120));
    let mut t = TestConference::new(service);
    let a = t.host();
    let b = t.host();
    t.advance(secs(500));
    t.leave(b);
    t.advance(secs(119));
    assert!(t.is_present(a));
    t.advance(secs(1));
    assert_eq!(t.left_reason(a), Some(DisconnectReason::AloneTimedOut));
}

#[test]
fn alone_timeout_is_off_by_default() {
    let mut t = TestConference::vmr();
    let a = t.host();
    t.advance(secs(86_400));
    assert!(t.is_present(a));
    assert_eq!(t.conference.poll_timeout(), None);
}

#[test]
fn participants_that_do_not_keep_the_meeting_alive_are_disconnected_with_pex140() {
    let mut t = TestConference::vmr();
    let caller = t.host();
    let dialled = t.join_as(Role::Guest, |r| {
        r.invited = true;
        r.keeps_alive = false;
    });
    t.leave(caller);
    assert_eq!(
        t.left_reason(dialled),
        Some(DisconnectReason::NoParticipantsCanKeepAlive)
    );
    assert_eq!(
        DisconnectReason::NoParticipantsCanKeepAlive.pex_code(),
        Some(140)
    );
}

#[test]
fn participant_limit_refuses_one_more_with_pex194() {
    let mut service = ServiceConfig::new("room", ServiceKind::Vmr, &["room"]);
    service.participant_limit = Some(2);
    let mut t = TestConference::new(service);
    t.host();
    t.host();
    let (_, outcome) = t.try_join(|r| r.role = Role::Host);
    assert_eq!(outcome, Err(JoinError::Full));
    assert_eq!(
        JoinError::Full.reason().and_then(|r| r.pex_code()),
        Some(194)
    );
}

#[test]
fn waiting_participants_count_toward_the_participant_limit() {
    let mut service = hosted_service(ServiceKind::Vmr);
    service.participant_limit = Some(1);
    let mut t = TestConference::new(service);
    t.guest();
    let (_, outcome) = t.try_join(|r| r.role = Role::Guest);
    assert_eq!(outcome, Err(JoinError::Full));
}

#[test]
fn host_disconnect_all_ends_the_meeting_for_everyone_with_pex125() {
    let mut t = TestConference::hosted();
    let host = t.host();
    let guest = t.guest();
    assert_eq!(t.cmd(guest, Command::DisconnectAll), Err(Refusal::HostOnly));
    t.cmd(host, Command::DisconnectAll).expect("host ends it");
    assert_eq!(
        t.left_reason(host),
        Some(DisconnectReason::ConferenceEndedByHost)
    );
    assert_eq!(
        t.left_reason(guest),
        Some(DisconnectReason::ConferenceEndedByHost)
    );
    assert_eq!(t.ended(), Some(DisconnectReason::ConferenceEndedByHost));
    assert_eq!(
        DisconnectReason::ConferenceEndedByHost.pex_code(),
        Some(125)
    );
}

#[test]
fn admin_ends_the_meeting_with_pex122() {
    let mut t = TestConference::vmr();
    let a = t.host();
    t.admin(Command::DisconnectAll).expect("admin");
    assert_eq!(
        t.left_reason(a),
        Some(DisconnectReason::ConferenceEndedByAdmin)
    );
    assert_eq!(
        DisconnectReason::ConferenceEndedByAdmin.pex_code(),
        Some(122)
    );
}

#[test]
fn host_disconnects_a_participant_with_pex124() {
    let mut t = TestConference::hosted();
    let host = t.host();
    let guest = t.guest();
    let other = t.guest();
    assert_eq!(
        t.cmd(guest, Command::Disconnect(other)),
        Err(Refusal::HostOnly)
    );
    t.cmd(host, Command::Disconnect(guest))
        .expect("host disconnects");
    assert_eq!(
        t.left_reason(guest),
        Some(DisconnectReason::DisconnectedByHost)
    );
    assert_eq!(DisconnectReason::DisconnectedByHost.pex_code(), Some(124));
}

#[test]
fn admin_disconnects_a_participant_with_pex123() {
    let mut t = TestConference::vmr();
    let a = t.host();
    let b = t.host();
    t.admin(Command::Disconnect(a)).expect("admin");
    assert_eq!(
        t.left_reason(a),
        Some(DisconnectReason::DisconnectedByAdmin)
    );
    assert!(t.is_present(b));
}

#[test]
fn participant_may_disconnect_themself() {
    let mut t = TestConference::hosted();
    t.host();
    let guest = t.guest();
    t.cmd(guest, Command::Disconnect(guest)).expect("self");
    assert_eq!(t.left_reason(guest), Some(DisconnectReason::UserInitiated));
}

#[test]
fn conference_ends_when_the_last_participant_leaves() {
    let mut t = TestConference::vmr();
    let a = t.host();
    t.leave(a);
    assert!(t.ended().is_some());
    let (_, outcome) = t.try_join(|r| r.role = Role::Host);
    assert_eq!(outcome, Err(JoinError::Ended));
}

#[test]
fn test_call_ends_after_its_length_with_pex143() {
    let mut t = TestConference::new(ServiceConfig::new("test", ServiceKind::TestCall, &["test"]));
    let caller = t.guest();
    assert_eq!(t.state(caller).role, Role::Host);
    t.advance(secs(29));
    assert!(t.is_present(caller));
    t.advance(secs(1));
    assert_eq!(
        t.left_reason(caller),
        Some(DisconnectReason::TestCallFinished)
    );
    assert_eq!(DisconnectReason::TestCallFinished.pex_code(), Some(143));
}

// === §4 lock and waiting room ===

#[test]
fn locked_room_without_host_pin_makes_every_new_caller_wait() {
    let mut t = TestConference::vmr();
    let host = t.host();
    t.cmd(host, Command::Lock).expect("lock");
    assert!(t.status().locked);
    let late = t.join_as(Role::Host, |r| r.via_host_pin = false);
    assert_eq!(t.waiting(late), Some(Waiting::ForAdmission));
}

#[test]
fn locked_room_lets_host_pin_holders_in_and_makes_guests_wait() {
    let mut t = TestConference::hosted();
    let host = t.host();
    t.cmd(host, Command::Lock).expect("lock");
    let second_host = t.host();
    assert_eq!(t.waiting(second_host), None);
    let guest = t.guest();
    assert_eq!(t.waiting(guest), Some(Waiting::ForAdmission));
}

#[test]
fn invited_hosts_pass_the_lock_and_invited_guests_wait() {
    let mut t = TestConference::vmr();
    let host = t.host();
    t.cmd(host, Command::Lock).expect("lock");
    let invited_host = t.join_as(Role::Host, |r| {
        r.via_host_pin = false;
        r.invited = true;
    });
    assert_eq!(t.waiting(invited_host), None);
    let invited_guest = t.join_as(Role::Guest, |r| r.invited = true);
    assert_eq!(t.waiting(invited_guest), Some(Waiting::ForAdmission));
}

#[test]
fn host_admits_a_waiting_participant() {
    let mut t = TestConference::hosted();
    let host = t.host();
    t.cmd(host, Command::Lock).expect("lock");
    let guest = t.guest();
    assert_eq!(t.cmd(host, Command::Admit(host)), Err(Refusal::NotWaiting));
    t.cmd(host, Command::Admit(guest)).expect("admit");
    assert_eq!(t.waiting(guest), None);
    assert_eq!(t.conference.poll_timeout(), None);
}

#[test]
fn host_rejects_a_waiting_participant_with_pex124() {
    let mut t = TestConference::hosted();
    let host = t.host();
    t.cmd(host, Command::Lock).expect("lock");
    let guest = t.guest();
    t.cmd(host, Command::Disconnect(guest)).expect("reject");
    assert_eq!(
        t.left_reason(guest),
        Some(DisconnectReason::DisconnectedByHost)
    );
}

#[test]
fn unlocking_admits_everyone_waiting() {
    let mut t = TestConference::hosted();
    let host = t.host();
    t.cmd(host, Command::Lock).expect("lock");
    let a = t.guest();
    let b = t.guest();
    t.cmd(host, Command::Unlock).expect("unlock");
    assert_eq!(t.waiting(a), None);
    assert_eq!(t.waiting(b), None);
    assert!(!t.status().locked);
}

#[test]
fn waiting_for_admission_times_out_with_pex126() {
    let mut t = TestConference::hosted();
    let host = t.host();
    t.cmd(host, Command::Lock).expect("lock");
    let guest = t.guest();
    t.advance(secs(900));
    assert_eq!(
        t.left_reason(guest),
        Some(DisconnectReason::WaitingTimedOut)
    );
    assert!(t.is_present(host));
}

#[test]
fn guests_cannot_lock_or_admit() {
    let mut t = TestConference::hosted();
    let host = t.host();
    let guest = t.guest();
    assert_eq!(t.cmd(guest, Command::Lock), Err(Refusal::HostOnly));
    t.cmd(host, Command::Lock).expect("lock");
    let waiting = t.guest();
    assert_eq!(
        t.cmd(guest, Command::Admit(waiting)),
        Err(Refusal::HostOnly)
    );
    assert_eq!(t.cmd(guest, Command::Unlock), Err(Refusal::HostOnly));
    assert!(t.status().locked);
}

#[test]
fn waiting_participants_control_nothing() {
    let mut t = TestConference::vmr();
    let host = t.host();
    t.cmd(host, Command::Lock).expect("lock");
    let waiting = t.host();
    let waiting_nopin = t.join_as(Role::Host, |r| r.via_host_pin = false);
    assert_eq!(t.waiting(waiting), None, "Host PIN holders are not held");
    for command in [
        Command::Unlock,
        Command::Admit(waiting_nopin),
        Command::Mute(host),
        Command::TakeFloor,
        Command::SendMessage {
            to: None,
            kind: MessageKind::Text,
            payload: "hi".into(),
        },
    ] {
        assert_eq!(t.cmd(waiting_nopin, command), Err(Refusal::StillWaiting));
    }
}

// === §5 in-meeting control ===

#[test]
fn host_mutes_and_unmutes_a_participant_but_guests_cannot() {
    let mut t = TestConference::hosted();
    let host = t.host();
    let guest = t.guest();
    let other = t.guest();
    assert_eq!(t.cmd(guest, Command::Mute(other)), Err(Refusal::HostOnly));
    t.cmd(host, Command::Mute(guest)).expect("mute");
    assert!(t.state(guest).is_muted);
    t.cmd(host, Command::Unmute(guest)).expect("unmute");
    assert!(!t.state(guest).is_muted);
    t.cmd(guest, Command::Mute(guest)).expect("self mute");
    t.cmd(guest, Command::Unmute(guest))
        .expect("self unmute is allowed by default");
}

#[test]
fn mute_guests_mutes_present_and_later_guests_but_not_hosts() {
    let mut t = TestConference::hosted();
    let host = t.host();
    let guest = t.guest();
    t.cmd(host, Command::MuteGuests).expect("mute guests");
    assert!(t.state(guest).is_muted);
    assert!(!t.state(host).is_muted);
    assert!(t.status().guests_muted);
    let late = t.guest();
    assert!(t.state(late).is_muted);
    t.cmd(host, Command::UnmuteGuests).expect("unmute guests");
    assert!(!t.state(guest).is_muted && !t.state(late).is_muted);
}

#[test]
fn guests_cannot_unmute_themselves_when_the_host_forbids_it() {
    let mut t = TestConference::hosted();
    let host = t.host();
    let guest = t.guest();
    t.cmd(host, Command::SetGuestsCanUnmute(false))
        .expect("setting");
    t.cmd(host, Command::Mute(guest)).expect("mute");
    assert_eq!(
        t.cmd(guest, Command::Unmute(guest)),
        Err(Refusal::GuestsCannotUnmute)
    );
    t.cmd(host, Command::Unmute(guest)).expect("host may");
}

#[test]
fn client_mute_is_self_only() {
    let mut t = TestConference::vmr();
    let a = t.host();
    let b = t.host();
    assert_eq!(t.cmd(a, Command::ClientMute(b)), Err(Refusal::SelfOnly));
    t.cmd(a, Command::ClientMute(a)).expect("self");
    assert!(t.state(a).is_client_muted);
}

#[test]
fn spotlight_pins_participants_in_the_order_they_were_spotlit() {
    let mut t = TestConference::vmr();
    let a = t.host();
    let b = t.host();
    let c = t.host();
    t.cmd(a, Command::SpotlightOn(c)).expect("spotlight");
    t.advance(secs(1));
    t.cmd(a, Command::SpotlightOn(b)).expect("spotlight");
    let order: Vec<_> = t.conference.stage().iter().map(|e| e.id).collect();
    assert_eq!(order, vec![c, b, a]);
    t.cmd(a, Command::SpotlightOff(c)).expect("off");
    let order: Vec<_> = t.conference.stage().iter().map(|e| e.id).collect();
    assert_eq!(order, vec![b, a, c]);
}

#[test]
fn recent_speakers_come_first_after_spotlit_participants() {
    let mut t = TestConference::vmr();
    let a = t.host();
    let b = t.host();
    let c = t.host();
    let now = t.now;
    t.conference
        .handle_media(now, c, MediaReport::Speaking(true));
    t.drain();
    let stage = t.conference.stage().to_vec();
    assert_eq!(
        stage.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![c, a, b]
    );
    assert!(stage[0].speaking);
    assert!(t.events.iter().any(|e| matches!(e, Event::StageChanged(_))));
}

#[test]
fn layout_change_in_a_vmr_applies_to_everyone() {
    let mut t = TestConference::hosted();
    let host = t.host();
    let guest = t.guest();
    let change = Command::TransformLayout {
        layout: Some(Layout::OnePlusSeven),
        host_layout: None,
        guest_layout: None,
        overlay_text: Some(true),
        reset: false,
    };
    assert_eq!(t.cmd(guest, change.clone()), Err(Refusal::HostOnly));
    t.cmd(host, change).expect("layout");
    let layout = t.conference.layout();
    assert_eq!(
        (layout.host_layout, layout.guest_layout),
        (Layout::OnePlusSeven, Layout::OnePlusSeven)
    );
    assert!(layout.overlay_text_enabled);
    assert!(
        t.events
            .iter()
            .any(|e| matches!(e, Event::LayoutChanged(l) if l.host_layout == Layout::OnePlusSeven))
    );
    let reset = Command::TransformLayout {
        layout: None,
        host_layout: None,
        guest_layout: None,
        overlay_text: None,
        reset: true,
    };
    t.cmd(host, reset).expect("reset");
    assert_eq!(t.conference.layout().host_layout, Layout::Adaptive);
}

#[test]
fn layout_change_in_an_auditorium_applies_to_hosts_only() {
    let mut t = TestConference::new(hosted_service(ServiceKind::Auditorium));
    let host = t.host();
    t.cmd(
        host,
        Command::TransformLayout {
            layout: Some(Layout::Grid2x2),
            host_layout: None,
            guest_layout: None,
            overlay_text: None,
            reset: false,
        },
    )
    .expect("layout");
    let layout = t.conference.layout();
    assert_eq!(
        (layout.host_layout, layout.guest_layout),
        (Layout::Grid2x2, Layout::Adaptive)
    );
    t.cmd(
        host,
        Command::TransformLayout {
            layout: None,
            host_layout: None,
            guest_layout: Some(Layout::OneMain),
            overlay_text: None,
            reset: false,
        },
    )
    .expect("guest layout");
    assert_eq!(t.conference.layout().guest_layout, Layout::OneMain);
}

#[test]
fn on_screen_participants_follow_the_layout_capacity() {
    let mut t = TestConference::vmr();
    let a = t.host();
    for _ in 0..5 {
        t.host();
    }
    t.cmd(
        a,
        Command::TransformLayout {
            layout: Some(Layout::Grid2x2),
            host_layout: None,
            guest_layout: None,
            overlay_text: None,
            reset: false,
        },
    )
    .expect("layout");
    assert_eq!(t.conference.layout().on_screen.len(), 4);
}

#[test]
fn host_sets_overlay_text() {
    let mut t = TestConference::hosted();
    let host = t.host();
    let guest = t.guest();
    assert_eq!(
        t.cmd(guest, Command::SetOverlayText(guest, "x".into())),
        Err(Refusal::HostOnly)
    );
    t.cmd(host, Command::SetOverlayText(guest, "  Speaker  ".into()))
        .expect("overlay");
    assert_eq!(t.state(guest).overlay_text, "Speaker");
    assert_eq!(
        t.cmd(host, Command::SetOverlayText(guest, "x".repeat(101))),
        Err(Refusal::OverlayTooLong)
    );
}

#[test]
fn host_cannot_demote_themself() {
    let mut t = TestConference::hosted();
    let host = t.host();
    assert_eq!(
        t.cmd(host, Command::SetRole(host, Role::Guest)),
        Err(Refusal::SelfDemotion)
    );
    assert_eq!(t.state(host).role, Role::Host);
}

#[test]
fn host_makes_a_guest_host_and_back() {
    let mut t = TestConference::hosted();
    let host = t.host();
    let guest = t.guest();
    assert_eq!(
        t.cmd(guest, Command::SetRole(guest, Role::Host)),
        Err(Refusal::HostOnly)
    );
    t.cmd(host, Command::SetRole(guest, Role::Host))
        .expect("promote");
    assert_eq!(t.state(guest).role, Role::Host);
    t.cmd(host, Command::SetRole(guest, Role::Guest))
        .expect("demote");
    assert_eq!(t.state(guest).role, Role::Guest);
}

#[test]
fn external_participants_keep_their_role() {
    let mut t = TestConference::hosted();
    let host = t.host();
    let external = t.join_as(Role::Guest, |r| r.external = true);
    assert_eq!(
        t.cmd(host, Command::SetRole(external, Role::Host)),
        Err(Refusal::ExternalRoleFixed)
    );
}

#[test]
fn demoting_the_last_host_starts_the_hosts_left_grace() {
    let mut t = TestConference::hosted();
    let a = t.host();
    let b = t.host();
    let guest = t.guest();
    t.cmd(a, Command::SetRole(b, Role::Guest)).expect("demote");
    t.leave(a);
    t.advance(secs(60));
    assert_eq!(t.left_reason(guest), Some(DisconnectReason::AllHostsLeft));
    assert_eq!(t.left_reason(b), Some(DisconnectReason::AllHostsLeft));
}

#[test]
fn hands_are_raised_in_order_and_lowered_by_self_or_host() {
    let mut t = TestConference::new(hosted_service(ServiceKind::Auditorium));
    let host = t.host();
    let a = t.guest();
    let b = t.guest();
    t.cmd(a, Command::RaiseHand(a)).expect("raise");
    t.advance(secs(1));
    t.cmd(b, Command::RaiseHand(b)).expect("raise");
    assert!(t.state(a).hand_raised_at < t.state(b).hand_raised_at);
    assert_eq!(t.cmd(a, Command::RaiseHand(b)), Err(Refusal::SelfOnly));
    assert_eq!(t.cmd(a, Command::LowerHand(b)), Err(Refusal::HostOnly));
    t.cmd(host, Command::LowerHand(a)).expect("host lowers");
    assert_eq!(t.state(a).hand_raised_at, None);
    t.cmd(host, Command::LowerAllHands).expect("all hands down");
    assert_eq!(t.state(b).hand_raised_at, None);
}

#[test]
fn a_new_presenter_takes_the_floor_over() {
    let mut t = TestConference::hosted();
    let host = t.host();
    let guest = t.guest();
    t.cmd(host, Command::TakeFloor).expect("present");
    t.cmd(guest, Command::TakeFloor).expect("take over");
    assert!(!t.state(host).is_presenting);
    assert!(t.state(guest).is_presenting);
    assert!(t.events.iter().any(|e| matches!(e, Event::PresentationStarted { presenter, replaced: Some(r), .. } if *presenter == guest && *r == host)));
    t.cmd(host, Command::ReleaseFloor)
        .expect("release without floor is a no-op");
    assert!(t.state(guest).is_presenting);
    t.cmd(guest, Command::ReleaseFloor).expect("release");
    assert!(t.conference.presenter().is_none());
    assert!(
        t.events
            .iter()
            .any(|e| matches!(e, Event::PresentationStopped { presenter } if *presenter == guest))
    );
}

#[test]
fn guests_cannot_present_when_the_service_forbids_it() {
    let mut service = hosted_service(ServiceKind::Vmr);
    service.guests_can_present = false;
    let mut t = TestConference::new(service);
    let host = t.host();
    let guest = t.guest();
    assert_eq!(
        t.cmd(guest, Command::TakeFloor),
        Err(Refusal::PresentationNotAllowed)
    );
    t.cmd(host, Command::TakeFloor).expect("hosts may");
}

#[test]
fn presenter_leaving_ends_the_presentation() {
    let mut t = TestConference::vmr();
    let a = t.host();
    let _b = t.host();
    t.cmd(a, Command::TakeFloor).expect("present");
    t.leave(a);
    assert!(t.conference.presenter().is_none());
    assert!(
        t.events
            .iter()
            .any(|e| matches!(e, Event::PresentationStopped { presenter } if *presenter == a))
    );
}

#[test]
fn chat_goes_to_the_room_or_privately_to_one() {
    let mut t = TestConference::vmr();
    let a = t.host();
    let b = t.host();
    t.cmd(
        a,
        Command::SendMessage {
            to: None,
            kind: MessageKind::Text,
            payload: "hello all".into(),
        },
    )
    .expect("room chat");
    t.cmd(
        a,
        Command::SendMessage {
            to: Some(b),
            kind: MessageKind::Text,
            payload: "psst".into(),
        },
    )
    .expect("private");
    let messages: Vec<_> = t
        .events
        .iter()
        .filter_map(|e| match e {
            Event::MessageSent {
                from, to, payload, ..
            } => Some((*from, *to, payload.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        messages,
        vec![
            (a, None, "hello all".to_owned()),
            (a, Some(b), "psst".to_owned())
        ]
    );
    assert_eq!(
        t.cmd(
            a,
            Command::SendMessage {
                to: None,
                kind: MessageKind::Text,
                payload: String::new()
            }
        ),
        Err(Refusal::BadMessage)
    );
}

#[test]
fn chat_is_refused_when_disabled() {
    let mut service = ServiceConfig::new("room", ServiceKind::Vmr, &["room"]);
    service.chat_enabled = false;
    let mut t = TestConference::new(service);
    let a = t.host();
    assert_eq!(
        t.cmd(
            a,
            Command::SendMessage {
                to: None,
                kind: MessageKind::Text,
                payload: "hi".into()
            }
        ),
        Err(Refusal::ChatDisabled)
    );
}

#[test]
fn transfer_refers_the_participant_to_the_new_room() {
    let mut t = TestConference::hosted();
    let host = t.host();
    let guest = t.guest();
    assert_eq!(
        t.cmd(
            guest,
            Command::Transfer {
                target: host,
                alias: "x".into(),
                role: Role::Guest,
                ticket: Secret::new("t")
            }
        ),
        Err(Refusal::HostOnly)
    );
    t.cmd(
        host,
        Command::Transfer {
            target: guest,
            alias: "meet.other".into(),
            role: Role::Host,
            ticket: Secret::new("t"),
        },
    )
    .expect("transfer");
    assert!(t.events.iter().any(|e| matches!(e, Event::ParticipantReferred { id, alias, role: Role::Host, ticket } if *id == guest && alias == "meet.other" && ticket.expose() == "t")));
    t.cmd(
        guest,
        Command::Transfer {
            target: guest,
            alias: "meet.other".into(),
            role: Role::Guest,
            ticket: Secret::new("t"),
        },
    )
    .expect("self transfer");
}

#[test]
fn dtmf_digits_are_validated() {
    let mut t = TestConference::vmr();
    let a = t.host();
    let b = t.host();
    t.cmd(
        a,
        Command::SendDtmf {
            target: b,
            digits: "12*#ab".into(),
        },
    )
    .expect("dtmf");
    assert!(
        t.events
            .iter()
            .any(|e| matches!(e, Event::DtmfSent { digits, .. } if digits == "12*#AB"))
    );
    assert_eq!(
        t.cmd(
            a,
            Command::SendDtmf {
                target: b,
                digits: "12x".into()
            }
        ),
        Err(Refusal::BadDigits)
    );
    assert_eq!(
        t.cmd(
            a,
            Command::SendDtmf {
                target: b,
                digits: String::new()
            }
        ),
        Err(Refusal::BadDigits)
    );
}

// === §2 the Host PIN keyed as DTMF ===

impl TestConference {
    /// `id` keys `digits` into the meeting (DTMF toward its own leg).
    fn key(&mut self, id: ParticipantId, digits: &str) -> Result<(), Refusal> {
        self.cmd(
            id,
            Command::SendDtmf {
                target: id,
                digits: digits.into(),
            },
        )
    }

    /// Verdicts on `id`'s keyed Host PIN entries so far.
    fn keyed_verdicts(&self, id: ParticipantId) -> Vec<KeyedPin> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::HostPinKeyed { id: who, verdict } if *who == id => Some(*verdict),
                _ => None,
            })
            .collect()
    }

    /// A hosted meeting, started by a Host, with an admitted Guest.
    fn hosted_with_guest() -> (TestConference, ParticipantId, ParticipantId) {
        let mut t = TestConference::hosted();
        let host = t.host();
        let guest = t.guest();
        assert_eq!(t.waiting(guest), None, "the Host started the meeting");
        (t, host, guest)
    }
}

fn wrong(attempts: u32) -> KeyedPin {
    KeyedPin::Wrong {
        attempts,
        locked_out: attempts >= crate::pin::KEYED_PIN_ATTEMPTS,
    }
}

#[test]
fn guest_keying_the_host_pin_becomes_host_as_if_a_host_changed_its_role() {
    let (mut t, _host, guest) = TestConference::hosted_with_guest();
    assert_eq!(t.cmd(guest, Command::Lock), Err(Refusal::HostOnly));
    t.events.clear();
    t.key(guest, "1234#").expect("tones");
    assert_eq!(t.state(guest).role, Role::Host);
    assert_eq!(t.keyed_verdicts(guest), [KeyedPin::Correct]);
    assert!(
        t.events
            .iter()
            .any(|e| matches!(e, Event::DtmfSent { target, digits, .. } if *target == guest && digits == "1234#")),
        "the tones still go to the leg as before"
    );
    assert!(t.events.iter().any(
        |e| matches!(e, Event::ParticipantUpdated(p) if p.id == guest && p.role == Role::Host)
    ));
    t.cmd(guest, Command::Lock).expect("the new Host may lock");
}

#[test]
fn host_pin_tones_may_arrive_one_per_request() {
    let (mut t, _host, guest) = TestConference::hosted_with_guest();
    for tone in ["1", "2", "3", "4"] {
        t.key(guest, tone).expect("tone");
        assert_eq!(t.state(guest).role, Role::Guest);
    }
    t.key(guest, "#").expect("tone");
    assert_eq!(t.state(guest).role, Role::Host);
}

#[test]
fn tones_after_the_pin_before_hash_make_it_wrong_and_hash_clears_the_entry() {
    let (mut t, _host, guest) = TestConference::hosted_with_guest();
    t.key(guest, "1234*#").expect("tones");
    assert_eq!(t.state(guest).role, Role::Guest);
    t.key(guest, "12345#").expect("tones");
    assert_eq!(t.state(guest).role, Role::Guest);
    t.key(guest, "1234#").expect("tones");
    assert_eq!(t.state(guest).role, Role::Host);
    assert_eq!(
        t.keyed_verdicts(guest),
        [wrong(1), wrong(2), KeyedPin::Correct]
    );
}

#[test]
fn a_wrong_host_pin_changes_nothing_but_the_count() {
    let (mut t, _host, guest) = TestConference::hosted_with_guest();
    t.key(guest, "9999#").expect("tones");
    assert_eq!(t.state(guest).role, Role::Guest);
    assert_eq!(t.keyed_verdicts(guest), [wrong(1)]);
    assert_eq!(t.cmd(guest, Command::Lock), Err(Refusal::HostOnly));
}

#[test]
fn after_five_wrong_host_pins_a_guests_tones_are_ignored_for_its_session() {
    let (mut t, _host, guest) = TestConference::hosted_with_guest();
    for _ in 0..5 {
        t.key(guest, "0000#").expect("tones");
    }
    t.key(guest, "1234#").expect("the tones are still sent");
    t.key(guest, "1").expect("tone");
    t.key(guest, "234#").expect("tones");
    assert_eq!(t.state(guest).role, Role::Guest);
    assert_eq!(
        t.keyed_verdicts(guest),
        [wrong(1), wrong(2), wrong(3), wrong(4), wrong(5)],
        "one verdict says locked out, later entries get none"
    );
    // Another Guest has its own tries.
    let other = t.guest();
    t.key(other, "1234#").expect("tones");
    assert_eq!(t.state(other).role, Role::Host);
}

#[test]
fn tones_change_no_role_in_a_room_without_host_pin() {
    let mut t = TestConference::vmr();
    let a = t.host();
    let b = t.host();
    t.cmd(a, Command::SetRole(b, Role::Guest)).expect("demote");
    t.key(b, "1234#").expect("tones");
    assert_eq!(t.state(b).role, Role::Guest);
    assert_eq!(t.keyed_verdicts(b), []);
}

#[test]
fn a_hosts_tones_are_no_pin_entry() {
    let (mut t, host, _guest) = TestConference::hosted_with_guest();
    t.key(host, "9999#").expect("tones");
    t.key(host, "1234#").expect("tones");
    assert_eq!(t.state(host).role, Role::Host);
    assert_eq!(t.keyed_verdicts(host), []);
}

#[test]
fn a_waiting_guest_cannot_key_its_way_past_the_waiting_room() {
    let mut t = TestConference::hosted();
    let guest = t.guest();
    assert_eq!(t.waiting(guest), Some(Waiting::ForHost));
    assert_eq!(t.key(guest, "1234#"), Err(Refusal::StillWaiting));
    assert_eq!(t.waiting(guest), Some(Waiting::ForHost));
    assert_eq!(t.state(guest).role, Role::Guest);

    let host = t.host();
    t.cmd(host, Command::Lock).expect("lock");
    let late = t.guest();
    assert_eq!(t.waiting(late), Some(Waiting::ForAdmission));
    assert_eq!(t.key(late, "1234#"), Err(Refusal::StillWaiting));
    assert_eq!(t.waiting(late), Some(Waiting::ForAdmission));
    assert_eq!(t.keyed_verdicts(guest), []);
    assert_eq!(t.keyed_verdicts(late), []);
}

#[test]
fn tones_a_host_sends_toward_a_guest_do_not_promote_it() {
    let (mut t, host, guest) = TestConference::hosted_with_guest();
    let toward_guest = |digits: &str| Command::SendDtmf {
        target: guest,
        digits: digits.into(),
    };
    t.cmd(host, toward_guest("1234#")).expect("tones");
    assert_eq!(t.state(guest).role, Role::Guest);
    // Nor do they start an entry the Guest could finish.
    t.cmd(host, toward_guest("12")).expect("tones");
    t.key(guest, "34#").expect("tones");
    assert_eq!(t.state(guest).role, Role::Guest);
    assert_eq!(t.keyed_verdicts(guest), [wrong(1)]);
    t.admin(toward_guest("1234#")).expect("admin tones");
    assert_eq!(t.state(guest).role, Role::Guest);
}

#[test]
fn refused_commands_change_nothing() {
    let mut t = TestConference::hosted();
    let _host = t.host();
    let guest = t.guest();
    let before = t.events.len();
    let status = t.status();
    assert!(t.cmd(guest, Command::Lock).is_err());
    assert!(t.cmd(guest, Command::MuteGuests).is_err());
    assert_eq!(t.events.len(), before);
    assert_eq!(t.status(), status);
}

#[test]
fn unknown_participants_are_reported() {
    let mut t = TestConference::vmr();
    let a = t.host();
    let ghost = ParticipantId(uuid::Uuid::from_u128(999_999));
    assert_eq!(
        t.cmd(a, Command::Mute(ghost)),
        Err(Refusal::UnknownParticipant)
    );
    assert_eq!(
        t.cmd(ghost, Command::Lock),
        Err(Refusal::UnknownParticipant)
    );
}

#[test]
fn every_disconnect_reason_has_the_client_api_text() {
    use DisconnectReason::*;
    let expected = [
        (InvalidPin, "Invalid PIN", Some(101)),
        (
            TooManyPinAttempts,
            "Participant exceeded PIN entry retries",
            Some(192),
        ),
        (
            ParticipantLimitReached,
            "Participant limit reached",
            Some(194),
        ),
        (
            WaitingTimedOut,
            "Timeout waiting for conference host to join or permit access to locked conference",
            Some(126),
        ),
        (
            TokenExpired,
            "Timer expired awaiting token refresh",
            Some(113),
        ),
        (
            AllHostsLeft,
            "All conference hosts departed hosted conference",
            Some(141),
        ),
        (
            AloneTimedOut,
            "Last remaining participant removed from conference after timeout",
            Some(142),
        ),
        (TestCallFinished, "Test call finished", Some(143)),
        (
            DisconnectedByHost,
            "Disconnected by another participant",
            Some(124),
        ),
        (
            DisconnectedByAdmin,
            "Disconnected by an administrator",
            Some(123),
        ),
        (
            ConferenceEndedByHost,
            "Conference terminated by another participant",
            Some(125),
        ),
        (
            ConferenceEndedByAdmin,
            "Conference terminated by an administrator",
            Some(122),
        ),
        (MaintenanceMode, "System in maintenance mode", Some(110)),
        (ClientAccessDisabled, "Disabled", Some(127)),
        (
            AliasNotFound,
            "Neither conference nor gateway found",
            Some(154),
        ),
        (
            NoParticipantsCanKeepAlive,
            "No participants can keep conference alive",
            Some(140),
        ),
        (UserInitiated, "User initiated disconnect", None),
    ];
    for (reason, text, code) in expected {
        assert_eq!(
            (reason.text(), reason.pex_code()),
            (text, code),
            "{reason:?}"
        );
    }
}

#[test]
fn participants_inside_are_told_about_each_waiting_participant() {
    let mut t = TestConference::hosted();
    let host = t.host();
    t.cmd(host, Command::Lock).expect("lock");
    let waiting = t.guest();
    let announced = t.events.iter().any(|e| {
        matches!(e, Event::ParticipantJoined(p) if p.id == waiting && p.waiting == Some(Waiting::ForAdmission))
    });
    assert!(announced, "the roster shows the waiting participant");
    t.cmd(host, Command::Admit(waiting)).expect("admit");
    let admitted = t.events.iter().any(
        |e| matches!(e, Event::ParticipantUpdated(p) if p.id == waiting && p.waiting.is_none()),
    );
    assert!(admitted, "admission is announced as an update");
}

#[test]
fn presentation_can_be_hidden_on_one_participants_endpoint() {
    let mut t = TestConference::hosted();
    let host = t.host();
    let guest = t.guest();
    let other = t.guest();
    assert_eq!(
        t.cmd(guest, Command::DenyPresentation(other)),
        Err(Refusal::HostOnly)
    );
    t.cmd(host, Command::DenyPresentation(guest))
        .expect("host denies");
    assert!(!t.state(guest).receives_presentation);
    t.cmd(guest, Command::AllowPresentation(guest))
        .expect("self allows");
    assert!(t.state(guest).receives_presentation);
}

#[test]
fn camera_is_turned_off_by_self_or_host() {
    let mut t = TestConference::hosted();
    let host = t.host();
    let guest = t.guest();
    let other = t.guest();
    assert_eq!(
        t.cmd(guest, Command::VideoMute(other)),
        Err(Refusal::HostOnly)
    );
    t.cmd(guest, Command::VideoMute(guest)).expect("self");
    assert!(t.state(guest).is_video_muted);
    t.cmd(host, Command::VideoUnmute(guest)).expect("host");
    assert!(!t.state(guest).is_video_muted);
}

#[test]
fn media_reports_update_the_roster() {
    let mut t = TestConference::vmr();
    let a = t.host();
    let now = t.now;
    t.conference.handle_media(now, a, MediaReport::Media(true));
    t.drain();
    assert!(t.state(a).has_media);
    assert!(
        t.events
            .iter()
            .any(|e| matches!(e, Event::ParticipantUpdated(p) if p.id == a && p.has_media))
    );
}

#[test]
fn a_media_call_sets_protocol_and_stalled_video_is_reported_silent() {
    let mut t = TestConference::vmr();
    let a = t.join_as(Role::Host, |r| {
        r.call_type = CallType::ControlOnly;
        r.protocol = Protocol::Api;
    });
    let now = t.now;
    t.conference
        .handle_media(now, a, MediaReport::CallType(CallType::Video));
    t.drain();
    assert_eq!(t.state(a).protocol, Protocol::WebRtc);
    t.conference
        .handle_media(now, a, MediaReport::VideoFlowing(false));
    t.drain();
    assert!(t.state(a).is_video_silent);
    t.conference
        .handle_media(now, a, MediaReport::VideoFlowing(true));
    t.drain();
    assert!(!t.state(a).is_video_silent);
    // Audio-only calls are never "video silent"; hanging up goes back to the API.
    t.conference
        .handle_media(now, a, MediaReport::CallType(CallType::AudioOnly));
    t.conference
        .handle_media(now, a, MediaReport::VideoFlowing(false));
    t.drain();
    assert!(!t.state(a).is_video_silent);
    t.conference
        .handle_media(now, a, MediaReport::CallType(CallType::ControlOnly));
    t.drain();
    assert_eq!(t.state(a).protocol, Protocol::Api);
}

#[test]
fn reloaded_settings_apply_to_new_joins() {
    let mut t = TestConference::vmr();
    t.host();
    let mut stricter = ServiceConfig::new("room", ServiceKind::Vmr, &["room"]);
    stricter.participant_limit = Some(1);
    t.conference.replace_service(Arc::new(stricter));
    let (_, outcome) = t.try_join(|r| r.role = Role::Host);
    assert_eq!(outcome, Err(JoinError::Full));
}

#[test]
fn a_control_only_host_starting_a_media_call_starts_the_meeting() {
    let mut t = TestConference::hosted();
    let guest = t.guest();
    let host = t.join_as(Role::Host, |r| r.call_type = CallType::ControlOnly);
    assert_eq!(t.waiting(guest), Some(Waiting::ForHost));
    let now = t.now;
    t.conference
        .handle_media(now, host, MediaReport::CallType(CallType::AudioOnly));
    t.drain();
    assert_eq!(t.state(host).call_type, CallType::AudioOnly);
    assert_eq!(t.waiting(guest), None);
}

#[test]
fn the_snapshot_holds_everything_clients_show() {
    let mut t = TestConference::hosted();
    let host = t.host();
    let guest = t.guest();
    t.cmd(guest, Command::TakeFloor).expect("present");
    let snapshot = t.conference.snapshot();
    assert_eq!(
        snapshot
            .participants
            .iter()
            .map(|p| p.id)
            .collect::<Vec<_>>(),
        vec![host, guest]
    );
    assert_eq!(snapshot.presenter, Some(guest));
    assert!(snapshot.status.started && snapshot.status.presentation_active);
    assert_eq!(snapshot.stage.len(), 2);
}

// === dialling out (behavior.md §5 "add a participant"; calls to people) ===

impl TestConference {
    fn dial(&mut self, actor: Actor, role: Role) -> (ParticipantId, Result<(), Refusal>) {
        let id = self.new_id();
        let request = DialRequest {
            id,
            display_name: format!("Dialled {}", self.next_id),
            role,
            keeps_alive: true,
        };
        let result = self
            .conference
            .handle_command(self.now, actor, Command::Dial(request));
        self.drain();
        (id, result)
    }

    fn answer(&mut self, id: ParticipantId) -> Result<JoinOutcome, JoinError> {
        let outcome =
            self.conference
                .handle_answer(self.now, id, CallType::Video, Protocol::WebRtc);
        self.drain();
        outcome
    }
}

fn person_call() -> TestConference {
    TestConference::new(ServiceConfig::new(
        "call-1",
        ServiceKind::PersonCall,
        &["call.1"],
    ))
}

#[test]
fn a_dialled_participant_rings_as_connecting_then_joins_with_its_role_on_answer() {
    let mut t = TestConference::hosted();
    let host = t.host();
    let (dialled, result) = t.dial(Actor::Participant(host), Role::Guest);
    result.expect("a Host may dial");
    let ringing = t.state(dialled);
    assert!(ringing.connecting && ringing.dialled);
    assert!(!ringing.is_admitted(), "ringing is not in the meeting");
    assert!(
        t.conference.stage().iter().all(|e| e.id != dialled),
        "not on stage while ringing"
    );
    assert_eq!(t.answer(dialled), Ok(JoinOutcome::Joined));
    let answered = t.state(dialled);
    assert!(!answered.connecting && answered.dialled && answered.is_admitted());
    assert_eq!(answered.role, Role::Guest);
    assert_eq!(answered.call_type, CallType::Video);
    assert_eq!(
        t.answer(dialled),
        Err(JoinError::NotRinging),
        "an answer counts once"
    );
}

#[test]
fn guests_cannot_dial_and_test_calls_and_receptions_do_not_dial() {
    let mut t = TestConference::hosted();
    let _host = t.host();
    let guest = t.guest();
    assert_eq!(
        t.dial(Actor::Participant(guest), Role::Guest).1,
        Err(Refusal::HostOnly)
    );
    for kind in [ServiceKind::TestCall, ServiceKind::Reception] {
        let mut t = TestConference::new(ServiceConfig::new("s", kind, &["s"]));
        assert_eq!(
            t.dial(Actor::Admin, Role::Guest).1,
            Err(Refusal::WrongService)
        );
    }
}

#[test]
fn dialling_counts_toward_the_participant_limit() {
    let mut service = ServiceConfig::new("room", ServiceKind::Vmr, &["room"]);
    service.participant_limit = Some(2);
    let mut t = TestConference::new(service);
    let host = t.host();
    t.dial(Actor::Participant(host), Role::Guest)
        .1
        .expect("second seat");
    assert_eq!(
        t.dial(Actor::Participant(host), Role::Guest).1,
        Err(Refusal::Full)
    );
}

#[test]
fn an_unanswered_dial_ends_after_the_ring_timeout_with_pex150() {
    let mut t = TestConference::vmr();
    let host = t.host();
    let (dialled, _) = t.dial(Actor::Participant(host), Role::Host);
    t.advance(secs(29));
    assert!(t.is_present(dialled), "still ringing at 29 s");
    t.advance(secs(1));
    assert_eq!(
        t.left_reason(dialled),
        Some(DisconnectReason::CallNotAnswered)
    );
    assert_eq!(DisconnectReason::CallNotAnswered.pex_code(), Some(150));
    assert!(
        t.is_present(host) && t.ended().is_none(),
        "the meeting goes on"
    );
    assert_eq!(t.answer(dialled), Err(JoinError::NotRinging));
}

#[test]
fn a_host_cancels_a_ringing_dial_by_disconnecting_it() {
    let mut t = TestConference::vmr();
    let host = t.host();
    let (dialled, _) = t.dial(Actor::Participant(host), Role::Guest);
    t.cmd(host, Command::Disconnect(dialled)).expect("cancel");
    assert_eq!(
        t.left_reason(dialled),
        Some(DisconnectReason::DisconnectedByHost)
    );
    assert_eq!(t.conference.poll_timeout(), None, "no ring deadline left");
}

#[test]
fn a_locked_meeting_lets_a_dialled_host_in_and_makes_a_dialled_guest_wait() {
    let mut t = TestConference::vmr();
    let host = t.host();
    t.cmd(host, Command::Lock).expect("lock");
    let (dialled_host, _) = t.dial(Actor::Participant(host), Role::Host);
    let (dialled_guest, _) = t.dial(Actor::Participant(host), Role::Guest);
    assert_eq!(t.answer(dialled_host), Ok(JoinOutcome::Joined));
    assert_eq!(
        t.answer(dialled_guest),
        Ok(JoinOutcome::Waiting(Waiting::ForAdmission))
    );
}

#[test]
fn a_ringing_participant_keeps_nothing_alive() {
    let mut t = TestConference::vmr();
    let host = t.host();
    let (dialled, _) = t.dial(Actor::Participant(host), Role::Host);
    t.leave(host);
    assert_eq!(
        t.ended(),
        Some(DisconnectReason::NoParticipantsCanKeepAlive)
    );
    assert_eq!(
        t.left_reason(dialled),
        Some(DisconnectReason::NoParticipantsCanKeepAlive)
    );
}

#[test]
fn a_declined_person_call_ends_for_the_caller_with_call_rejected() {
    let mut t = person_call();
    let caller = t.host();
    let (callee, _) = t.dial(Actor::Node, Role::Host);
    t.conference
        .handle_leave(t.now, callee, DisconnectReason::CallDeclined);
    t.drain();
    assert_eq!(t.left_reason(caller), Some(DisconnectReason::CallDeclined));
    assert_eq!(DisconnectReason::CallDeclined.text(), "Call rejected");
    assert_eq!(t.ended(), Some(DisconnectReason::CallDeclined));
}

#[test]
fn an_unanswered_person_call_ends_for_the_caller_with_call_rejected() {
    let mut t = person_call();
    let caller = t.host();
    let (_callee, _) = t.dial(Actor::Node, Role::Host);
    t.advance(secs(30));
    assert_eq!(
        t.left_reason(caller),
        Some(DisconnectReason::CallNotAnswered)
    );
}

#[test]
fn when_one_party_of_a_person_call_hangs_up_the_other_gets_call_disconnected() {
    let mut t = person_call();
    let caller = t.host();
    let (callee, _) = t.dial(Actor::Node, Role::Host);
    assert_eq!(t.answer(callee), Ok(JoinOutcome::Joined));
    t.leave(caller);
    assert_eq!(
        t.left_reason(callee),
        Some(DisconnectReason::CallDisconnected)
    );
    assert_eq!(DisconnectReason::CallDisconnected.pex_code(), Some(151));
}

#[test]
fn a_person_call_with_a_third_party_goes_on_when_one_leaves() {
    let mut t = person_call();
    let caller = t.host();
    let (callee, _) = t.dial(Actor::Node, Role::Host);
    t.answer(callee).expect("answer");
    let (third, _) = t.dial(Actor::Participant(caller), Role::Guest);
    t.answer(third).expect("answer");
    t.leave(callee);
    assert!(t.ended().is_none());
    assert!(t.is_present(caller) && t.is_present(third));
}

#[test]
fn the_caller_hanging_up_while_it_rings_ends_the_person_call() {
    let mut t = person_call();
    let caller = t.host();
    let (callee, _) = t.dial(Actor::Node, Role::Host);
    t.leave(caller);
    assert_eq!(
        t.left_reason(callee),
        Some(DisconnectReason::CallDisconnected)
    );
    assert!(t.ended().is_some());
}
