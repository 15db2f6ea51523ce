//! Property tests: random command sequences against every kind of service keep the
//! conference invariants (one presenter, waiting participants control nothing and start
//! nothing, no panic, everyone leaves exactly once with a reason).

// Tests read the real clock once, for an arbitrary origin; time then moves only by hand.
#![allow(clippy::disallowed_methods)]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use plenum_core::{
    Actor, CallType, Command, Conference, Event, JoinRequest, Layout, MediaReport, MessageKind,
    ParticipantId, Pin, Role, Secret, ServiceConfig, ServiceKind,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    Join {
        role: Role,
        call: CallType,
        via_host_pin: bool,
        invited: bool,
        keeps_alive: bool,
    },
    Leave(usize),
    Act {
        actor: usize,
        command: Cmd,
        target: usize,
    },
    Admin {
        command: Cmd,
        target: usize,
    },
    Speak(usize, bool),
    Advance(u64),
}

#[derive(Debug, Clone, Copy)]
enum Cmd {
    Lock,
    Unlock,
    Start,
    MuteGuests,
    UnmuteGuests,
    GuestsCanUnmute(bool),
    DisconnectAll,
    Chat,
    PrivateChat,
    Layout(u8),
    LowerAllHands,
    Disconnect,
    Mute,
    Unmute,
    ClientMute,
    VideoMute,
    DenyPresentation,
    Spotlight(bool),
    Admit,
    Overlay,
    SetRole(bool),
    PromoteWithPin,
    RaiseHand,
    LowerHand,
    TakeFloor,
    ReleaseFloor,
    Transfer,
    Dtmf,
}

fn cmd() -> impl Strategy<Value = Cmd> {
    prop_oneof![
        Just(Cmd::Lock),
        Just(Cmd::Unlock),
        Just(Cmd::Start),
        Just(Cmd::MuteGuests),
        Just(Cmd::UnmuteGuests),
        any::<bool>().prop_map(Cmd::GuestsCanUnmute),
        Just(Cmd::DisconnectAll),
        Just(Cmd::Chat),
        Just(Cmd::PrivateChat),
        (0u8..7).prop_map(Cmd::Layout),
        Just(Cmd::LowerAllHands),
        Just(Cmd::Disconnect),
        Just(Cmd::Mute),
        Just(Cmd::Unmute),
        Just(Cmd::ClientMute),
        Just(Cmd::VideoMute),
        Just(Cmd::DenyPresentation),
        any::<bool>().prop_map(Cmd::Spotlight),
        Just(Cmd::Admit),
        Just(Cmd::Overlay),
        any::<bool>().prop_map(Cmd::SetRole),
        Just(Cmd::PromoteWithPin),
        Just(Cmd::RaiseHand),
        Just(Cmd::LowerHand),
        Just(Cmd::TakeFloor),
        Just(Cmd::ReleaseFloor),
        Just(Cmd::Transfer),
        Just(Cmd::Dtmf),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let role = prop_oneof![Just(Role::Host), Just(Role::Guest)];
    let call = prop_oneof![
        Just(CallType::Video),
        Just(CallType::AudioOnly),
        Just(CallType::ControlOnly)
    ];
    prop_oneof![
        3 => (role, call, any::<bool>(), any::<bool>(), prop::bool::weighted(0.9)).prop_map(
            |(role, call, via_host_pin, invited, keeps_alive)| Step::Join { role, call, via_host_pin, invited, keeps_alive }
        ),
        1 => (0usize..16).prop_map(Step::Leave),
        6 => (0usize..16, cmd(), 0usize..16).prop_map(|(actor, command, target)| Step::Act { actor, command, target }),
        1 => (cmd(), 0usize..16).prop_map(|(command, target)| Step::Admin { command, target }),
        1 => (0usize..16, any::<bool>()).prop_map(|(i, on)| Step::Speak(i, on)),
        1 => prop_oneof![0u64..5, 55u64..65, 890u64..910, 3600u64..3700].prop_map(Step::Advance),
    ]
}

fn service() -> impl Strategy<Value = ServiceConfig> {
    (0u8..7, any::<bool>(), prop::option::of(1u32..6)).prop_map(
        |(kind, guests_can_present, limit)| {
            let pin = |d: &str| Some(Pin::parse(d).expect("valid pin"));
            let mut s = ServiceConfig::new("room", ServiceKind::Vmr, &["room"]);
            match kind {
                0 => {}
                1 => s.host_pin = pin("1234"),
                2 => {
                    s.host_pin = pin("1234");
                    s.guest_pin = pin("5678");
                }
                3 => {
                    s.host_pin = pin("1234");
                    s.allow_guests = false;
                }
                4 => {
                    s.kind = ServiceKind::Auditorium;
                    s.host_pin = pin("1234");
                }
                5 => s.kind = ServiceKind::TestCall,
                _ => {
                    s.host_pin = pin("1234");
                    s.timeouts.alone = Some(Duration::from_secs(60));
                }
            }
            s.guests_can_present = guests_can_present;
            s.participant_limit = limit;
            s
        },
    )
}

fn to_command(cmd: Cmd, target: ParticipantId) -> Command {
    const LAYOUTS: [Layout; 6] = [
        Layout::OneMain,
        Layout::OnePlusSeven,
        Layout::OnePlusTwentyOne,
        Layout::TwoPlusTwentyOne,
        Layout::Grid2x2,
        Layout::Adaptive,
    ];
    match cmd {
        Cmd::Lock => Command::Lock,
        Cmd::Unlock => Command::Unlock,
        Cmd::Start => Command::StartConference,
        Cmd::MuteGuests => Command::MuteGuests,
        Cmd::UnmuteGuests => Command::UnmuteGuests,
        Cmd::GuestsCanUnmute(b) => Command::SetGuestsCanUnmute(b),
        Cmd::DisconnectAll => Command::DisconnectAll,
        Cmd::Chat => Command::SendMessage {
            to: None,
            kind: MessageKind::Text,
            payload: "hi".into(),
        },
        Cmd::PrivateChat => Command::SendMessage {
            to: Some(target),
            kind: MessageKind::Json,
            payload: "{}".into(),
        },
        Cmd::Layout(i) => Command::TransformLayout {
            layout: LAYOUTS.get(i as usize).copied(),
            host_layout: None,
            guest_layout: LAYOUTS.get(i as usize % 3).copied(),
            overlay_text: Some(i % 2 == 0),
            reset: i == 6,
        },
        Cmd::LowerAllHands => Command::LowerAllHands,
        Cmd::Disconnect => Command::Disconnect(target),
        Cmd::Mute => Command::Mute(target),
        Cmd::Unmute => Command::Unmute(target),
        Cmd::ClientMute => Command::ClientMute(target),
        Cmd::VideoMute => Command::VideoMute(target),
        Cmd::DenyPresentation => Command::DenyPresentation(target),
        Cmd::Spotlight(on) => {
            if on {
                Command::SpotlightOn(target)
            } else {
                Command::SpotlightOff(target)
            }
        }
        Cmd::Admit => Command::Admit(target),
        Cmd::Overlay => Command::SetOverlayText(target, "label".into()),
        Cmd::SetRole(host) => Command::SetRole(target, if host { Role::Host } else { Role::Guest }),
        Cmd::PromoteWithPin => Command::PromoteWithHostPin,
        Cmd::RaiseHand => Command::RaiseHand(target),
        Cmd::LowerHand => Command::LowerHand(target),
        Cmd::TakeFloor => Command::TakeFloor,
        Cmd::ReleaseFloor => Command::ReleaseFloor,
        Cmd::Transfer => Command::Transfer {
            target,
            alias: "elsewhere".into(),
            role: Role::Guest,
            ticket: Secret::new("t"),
        },
        // Wrong, then the services' Host PIN: keyed toward oneself it promotes a Guest.
        Cmd::Dtmf => Command::SendDtmf {
            target,
            digits: "1#1234#".into(),
        },
    }
}

/// Runs the steps, checking invariants as it goes; returns the events seen.
fn run(service: ServiceConfig, steps: Vec<Step>) -> Result<(), TestCaseError> {
    let limit = service.participant_limit;
    let mut now = Instant::now();
    let mut conference = Conference::new(now, Arc::new(service));
    let mut joined: Vec<ParticipantId> = Vec::new();
    let mut left: HashMap<ParticipantId, usize> = HashMap::new();
    let mut present: HashSet<ParticipantId> = HashSet::new();
    let mut ended = false;

    // Returns whether an admitted Host with audio or video appeared in the events.
    let drain = |conference: &mut Conference,
                 present: &mut HashSet<ParticipantId>,
                 left: &mut HashMap<ParticipantId, usize>,
                 ended: &mut bool|
     -> Result<bool, TestCaseError> {
        let mut host_with_media = false;
        while let Some(event) = conference.poll_event() {
            if let Event::ParticipantJoined(p) | Event::ParticipantUpdated(p) = &event {
                host_with_media |= p.is_host() && p.call_type.has_audio_or_video();
            }
            prop_assert!(!*ended, "event after ConferenceEnded: {event:?}");
            match event {
                Event::ParticipantJoined(p) => {
                    prop_assert!(present.insert(p.id));
                }
                Event::ParticipantUpdated(p) => {
                    prop_assert!(present.contains(&p.id), "update for absent {p:?}")
                }
                Event::ParticipantLeft { participant, .. } => {
                    prop_assert!(present.remove(&participant.id));
                    *left.entry(participant.id).or_default() += 1;
                }
                Event::ConferenceEnded { .. } => *ended = true,
                _ => {}
            }
        }
        Ok(host_with_media)
    };

    for step in steps {
        let started_before = conference.status().started;
        let pick = |i: usize| joined.get(i % joined.len().max(1)).copied();
        let mut explicit_start = false;
        match step {
            Step::Join {
                role,
                call,
                via_host_pin,
                invited,
                keeps_alive,
            } => {
                let id = ParticipantId(uuid::Uuid::from_u128(joined.len() as u128 + 1));
                let mut request = JoinRequest::caller(id, "p", role);
                request.call_type = call;
                request.via_host_pin = via_host_pin && role == Role::Host;
                request.invited = invited;
                request.keeps_alive = keeps_alive;
                if conference.handle_join(now, request).is_ok() {
                    joined.push(id);
                }
            }
            Step::Leave(i) => {
                if let Some(id) = pick(i) {
                    conference.handle_leave(now, id, plenum_core::DisconnectReason::UserInitiated);
                }
            }
            Step::Act {
                actor,
                command,
                target,
            } => {
                if let (Some(actor), Some(target)) = (pick(actor), pick(target)) {
                    let waiting = conference
                        .participant(actor)
                        .is_some_and(|p| p.waiting.is_some());
                    let command = to_command(command, target);
                    let self_service = matches!(command, Command::PromoteWithHostPin)
                        || command == Command::Disconnect(actor);
                    let accepted = conference
                        .handle_command(now, Actor::Participant(actor), command.clone())
                        .is_ok();
                    if waiting && !self_service {
                        prop_assert!(!accepted, "waiting participant could {command:?}");
                    }
                    explicit_start = accepted && command == Command::StartConference;
                }
            }
            Step::Admin { command, target } => {
                if let Some(target) = pick(target) {
                    let command = to_command(command, target);
                    let is_start = command == Command::StartConference;
                    explicit_start = conference
                        .handle_command(now, Actor::Admin, command)
                        .is_ok()
                        && is_start;
                }
            }
            Step::Speak(i, on) => {
                if let Some(id) = pick(i) {
                    conference.handle_media(now, id, MediaReport::Speaking(on));
                }
            }
            Step::Advance(secs) => {
                let target = now + Duration::from_secs(secs);
                while let Some(deadline) = conference.poll_timeout().filter(|d| *d <= target) {
                    prop_assert!(deadline >= now, "deadline in the past");
                    now = deadline;
                    conference.handle_timeout(now);
                }
                now = target;
            }
        }
        let host_appeared = drain(&mut conference, &mut present, &mut left, &mut ended)?;

        // Never two presenters, and the floor holder is flagged.
        let presenting: Vec<_> = conference
            .participants()
            .filter(|p| p.is_presenting)
            .map(|p| p.id)
            .collect();
        prop_assert!(presenting.len() <= 1, "two presenters: {presenting:?}");
        prop_assert_eq!(
            presenting.first().copied(),
            conference.presenter().map(|p| p.id)
        );
        // Waiting participants never start the meeting.
        if !started_before && conference.status().started {
            prop_assert!(
                explicit_start || host_appeared,
                "meeting started without a Host"
            );
        }
        // The limit holds and the roster the events describe is the conference's.
        if let Some(limit) = limit {
            prop_assert!(conference.participant_count() <= limit as usize);
        }
        let actual: HashSet<_> = conference.participants().map(|p| p.id).collect();
        prop_assert_eq!(&actual, &present);
    }

    // Ending the meeting lets everyone go, each exactly once, with a reason.
    conference.handle_end(now, plenum_core::DisconnectReason::ConferenceEndedByAdmin);
    drain(&mut conference, &mut present, &mut left, &mut ended)?;
    prop_assert!(ended);
    prop_assert_eq!(conference.participant_count(), 0);
    for id in &joined {
        prop_assert_eq!(
            left.get(id).copied(),
            Some(1),
            "participant {} left {:?} times",
            id,
            left.get(id)
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_command_sequences_keep_the_invariants(service in service(), steps in prop::collection::vec(step(), 0..120)) {
        run(service, steps)?;
    }
}
