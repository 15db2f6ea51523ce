//! The per-viewer mapping of conference events and the sync burst, on real conferences
//! from plenum-core.

use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use plenum_core::{
    Actor, CallType, Command, Conference, DisconnectReason, Event, JoinRequest, Layout,
    MediaReport, MessageKind, ParticipantId, Pin, Role, Secret, ServiceConfig, ServiceKind,
    WallClock,
};
use serde_json::{Value, json};

use super::{SseEvent, Viewer, ends_stream, sse_events, sync_events};
use crate::client::theme::Theme;

/// A conference driven by hand, with the events it emitted since the last `drain`.
struct Room {
    conference: Conference,
    now: Instant,
    clock: WallClock,
    next_id: u128,
    /// The room's theme (its viewers' splash screens).
    theme: Option<Theme>,
}

impl Room {
    fn new(kind: ServiceKind) -> Room {
        Room::with_service(ServiceConfig::new("Team room", kind, &["meet.team"]))
    }

    /// A VMR with a Host PIN, so Guests wait for a Host, and `theme`.
    fn hosted(theme: Option<Theme>) -> Room {
        let mut service = ServiceConfig::new("Team room", ServiceKind::Vmr, &["meet.team"]);
        service.host_pin = Some(Pin::parse("1234").expect("valid pin"));
        Room {
            theme,
            ..Room::with_service(service)
        }
    }

    fn with_service(service: ServiceConfig) -> Room {
        let now = Instant::now();
        Room {
            conference: Conference::new(now, Arc::new(service)),
            now,
            clock: WallClock::new(now, UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
            next_id: 0,
            theme: None,
        }
    }

    fn join(&mut self, name: &str, role: Role) -> ParticipantId {
        self.join_as(name, role, CallType::Video).0
    }

    /// Joins a caller; returns it and the events its arrival emitted.
    fn join_as(
        &mut self,
        name: &str,
        role: Role,
        call_type: CallType,
    ) -> (ParticipantId, Vec<Event>) {
        self.next_id += 1;
        let id = ParticipantId(uuid::Uuid::from_u128(self.next_id));
        let request = JoinRequest {
            call_type,
            ..JoinRequest::caller(id, name, role)
        };
        self.conference
            .handle_join(self.now, request)
            .expect("join succeeds");
        (id, self.drain())
    }

    fn cmd(&mut self, actor: ParticipantId, command: Command) -> Vec<Event> {
        self.now += Duration::from_secs(1);
        self.conference
            .handle_command(self.now, Actor::Participant(actor), command)
            .expect("command is allowed");
        self.drain()
    }

    fn drain(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.conference.poll_event()).collect()
    }

    fn viewer(&self, id: ParticipantId) -> Viewer {
        Viewer::from_snapshot(id, &self.conference.snapshot(), self.theme.as_ref())
            .expect("viewer is present")
    }

    /// Everything `viewer` is sent for `events`.
    fn seen_by(&self, viewer: ParticipantId, events: &[Event]) -> Vec<SseEvent> {
        let viewer = self.viewer(viewer);
        events
            .iter()
            .flat_map(|e| sse_events(&viewer, e, &self.clock))
            .collect()
    }
}

/// What an open stream of `viewer` sends for `events`, as the stream does it: the
/// mapping of each event, then what the viewer's own changes add.
fn streamed(viewer: &mut Viewer, events: &[Event], clock: &WallClock) -> Vec<SseEvent> {
    let mut out = Vec::new();
    for event in events {
        out.extend(sse_events(viewer, event, clock));
        viewer.observe(event, |e| out.push(e));
    }
    out
}

/// The example theme shipped in `config/themes/example`.
fn example_theme() -> Theme {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/themes/example");
    let text = std::fs::read_to_string(dir.join("theme.json")).expect("example theme.json");
    Theme::parse(dir, &text).expect("the example theme is valid")
}

fn splash_screens(events: &[SseEvent]) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| e.name == "splash_screen")
        .map(|e| &e.data)
        .collect()
}

fn names(events: &[SseEvent]) -> Vec<&'static str> {
    events.iter().map(|e| e.name).collect()
}

fn find<'a>(events: &'a [SseEvent], name: &str) -> Option<&'a Value> {
    events.iter().find(|e| e.name == name).map(|e| &e.data)
}

#[test]
fn sync_lists_everyone_between_begin_and_end_then_status_layout_and_stage() {
    let mut room = Room::new(ServiceKind::Vmr);
    let alice = room.join("Alice", Role::Host);
    let bob = room.join("Bob", Role::Host);
    let sync = sync_events(&room.viewer(bob), &room.conference.snapshot(), &room.clock);
    assert_eq!(
        names(&sync),
        [
            "participant_sync_begin",
            "participant_create",
            "participant_create",
            "participant_sync_end",
            "conference_update",
            "layout",
            "stage",
        ]
    );
    assert_eq!(sync[0].data, json!({}));
    assert_eq!(sync[1].data["uuid"], alice.to_string());
    assert_eq!(sync[2].data["uuid"], bob.to_string());
    assert_eq!(sync[3].data, json!({}));
    assert_eq!(
        sync[4].data,
        json!({
            "locked": false, "guests_muted": false, "started": true,
            "guests_can_unmute": true, "guests_can_present": true,
            "presentation_allowed": true, "direct_media": false, "breakout_rooms": false,
            "live_captions_available": false,
        })
    );
    assert_eq!(sync[5].data["view"], "ac");
    assert_eq!(
        sync[6].data,
        json!([
            {"participant_uuid": alice.to_string(), "stage_index": 0, "vad": 0},
            {"participant_uuid": bob.to_string(), "stage_index": 1, "vad": 0},
        ])
    );
}

#[test]
fn sync_names_the_presenter_to_everyone_but_the_presenter() {
    let mut room = Room::new(ServiceKind::Vmr);
    let alice = room.join("Alice", Role::Host);
    let bob = room.join("Bob", Role::Host);
    room.cmd(alice, Command::TakeFloor);
    let snapshot = room.conference.snapshot();

    let for_bob = sync_events(&room.viewer(bob), &snapshot, &room.clock);
    assert_eq!(
        names(&for_bob)[4..],
        ["conference_update", "layout", "presentation_start", "stage"]
    );
    assert_eq!(
        find(&for_bob, "presentation_start"),
        Some(&json!({
            "presenter_name": "Alice",
            "presenter_uri": "",
            "presenter_uuid": alice.to_string(),
        }))
    );

    let for_alice = sync_events(&room.viewer(alice), &snapshot, &room.clock);
    assert_eq!(find(&for_alice, "presentation_start"), None);
}

#[test]
fn participant_objects_carry_every_required_field_with_exact_types() {
    let mut room = Room::new(ServiceKind::Vmr);
    let alice = room.join("Alice", Role::Host);
    room.cmd(alice, Command::Mute(alice));
    room.cmd(alice, Command::RaiseHand(alice));
    let snapshot = room.conference.snapshot();
    let sync = sync_events(&room.viewer(alice), &snapshot, &room.clock);
    let p = &sync[1].data;
    assert_eq!(p["uuid"], alice.to_string());
    assert_eq!(p["display_name"], "Alice");
    assert_eq!(p["role"], "chair");
    assert_eq!(p["is_muted"], "YES");
    assert_eq!(p["is_presenting"], "NO");
    assert_eq!(p["is_audio_only_call"], "NO");
    assert_eq!(p["is_video_call"], "YES");
    for flag in [
        "disconnect_supported",
        "mute_supported",
        "transfer_supported",
    ] {
        assert_eq!(p[flag], "YES", "{flag}");
    }
    assert_eq!(p["fecc_supported"], "NO");
    assert_eq!(p["spotlight"], json!(0.0));
    assert_eq!(p["buzz_time"], json!(1_700_000_002.0));
    assert_eq!(p["start_time"], json!(1_700_000_000.0));
    assert_eq!(p["call_direction"], "in");
    assert_eq!(p["protocol"], "api");
    assert_eq!(p["encryption"], "On");
    assert_eq!(p["rx_presentation_policy"], "ALLOW");
    for flag in [
        "has_media",
        "is_external",
        "is_streaming_conference",
        "is_video_muted",
        "is_video_silent",
        "supports_direct_chat",
        "can_receive_personal_mix",
        "is_client_muted",
    ] {
        assert_eq!(p[flag], json!(false), "{flag}");
    }
    assert_eq!(p["external_node_uuid"], "");
    assert_eq!(p["local_alias"], "meet.team");
    assert_eq!(p["overlay_text"], "");
    assert_eq!(
        p["receive_from_video_mix"],
        json!({"mix_name": "main", "timestamp": 0})
    );
    assert_eq!(p["service_type"], "conference");
    assert_eq!(p["presentation_supported"], "YES");
}

#[test]
fn public_chat_reaches_everyone_but_the_sender() {
    let mut room = Room::new(ServiceKind::Vmr);
    let alice = room.join("Alice", Role::Host);
    let bob = room.join("Bob", Role::Guest);
    let events = room.cmd(
        alice,
        Command::SendMessage {
            to: None,
            kind: MessageKind::Text,
            payload: "hello".to_owned(),
        },
    );
    assert_eq!(
        room.seen_by(bob, &events),
        [SseEvent {
            name: "message_received",
            data: json!({
                "origin": "Alice",
                "uuid": alice.to_string(),
                "type": "text/plain",
                "payload": "hello",
                "direct": false,
            }),
            id: None,
        }]
    );
    assert_eq!(room.seen_by(alice, &events), []);
}

#[test]
fn private_chat_reaches_only_its_target() {
    let mut room = Room::new(ServiceKind::Vmr);
    let alice = room.join("Alice", Role::Host);
    let bob = room.join("Bob", Role::Guest);
    let carol = room.join("Carol", Role::Guest);
    let events = room.cmd(
        alice,
        Command::SendMessage {
            to: Some(bob),
            kind: MessageKind::Json,
            payload: r#"{"a":1}"#.to_owned(),
        },
    );
    let for_bob = room.seen_by(bob, &events);
    assert_eq!(names(&for_bob), ["message_received"]);
    assert_eq!(for_bob[0].data["direct"], json!(true));
    assert_eq!(for_bob[0].data["type"], "application/json");
    assert_eq!(room.seen_by(carol, &events), []);
    assert_eq!(room.seen_by(alice, &events), []);
}

#[test]
fn presentation_start_and_stop_skip_the_presenter() {
    let mut room = Room::new(ServiceKind::Vmr);
    let alice = room.join("Alice", Role::Host);
    let bob = room.join("Bob", Role::Host);
    let started = room.cmd(alice, Command::TakeFloor);
    let for_bob = room.seen_by(bob, &started);
    assert!(names(&for_bob).contains(&"presentation_start"));
    assert!(!names(&room.seen_by(alice, &started)).contains(&"presentation_start"));

    let stopped = room.cmd(alice, Command::ReleaseFloor);
    assert!(names(&room.seen_by(bob, &stopped)).contains(&"presentation_stop"));
    assert_eq!(
        find(&room.seen_by(bob, &stopped), "presentation_stop"),
        Some(&json!({}))
    );
    assert!(!names(&room.seen_by(alice, &stopped)).contains(&"presentation_stop"));
}

#[test]
fn presentation_frames_carry_their_id_and_skip_the_presenter() {
    let mut room = Room::new(ServiceKind::Vmr);
    let alice = room.join("Alice", Role::Host);
    let bob = room.join("Bob", Role::Host);
    room.conference.handle_presentation_frame(1);
    assert!(room.drain().is_empty(), "no presenter, no frame");
    room.cmd(alice, Command::TakeFloor);
    room.conference.handle_presentation_frame(7);
    let frame = room.drain();
    assert_eq!(
        room.seen_by(bob, &frame),
        [SseEvent {
            name: "presentation_frame",
            data: json!({}),
            id: Some("7".to_owned()),
        }]
    );
    assert!(room.seen_by(alice, &frame).is_empty());
}

#[test]
fn a_presenter_whose_floor_is_taken_hears_of_the_new_presenter() {
    let mut room = Room::new(ServiceKind::Vmr);
    let alice = room.join("Alice", Role::Host);
    let bob = room.join("Bob", Role::Host);
    room.cmd(alice, Command::TakeFloor);
    let taken = room.cmd(bob, Command::TakeFloor);
    let for_alice = room.seen_by(alice, &taken);
    assert_eq!(
        find(&for_alice, "presentation_start").map(|d| &d["presenter_uuid"]),
        Some(&json!(bob.to_string()))
    );
    assert_eq!(find(&room.seen_by(bob, &taken), "presentation_start"), None);
}

#[test]
fn own_departure_is_a_disconnect_that_ends_the_stream_others_see_a_delete() {
    let mut room = Room::new(ServiceKind::Vmr);
    let alice = room.join("Alice", Role::Host);
    let bob = room.join("Bob", Role::Host);
    let alice_view = room.viewer(alice);
    let bob_view = room.viewer(bob);
    let events = room.cmd(alice, Command::Disconnect(bob));
    let left = events
        .iter()
        .find(|e| matches!(e, Event::ParticipantLeft { .. }))
        .expect("bob left");

    assert_eq!(
        sse_events(&bob_view, left, &room.clock),
        [SseEvent {
            name: "disconnect",
            data: json!({"reason": DisconnectReason::DisconnectedByHost.text()}),
            id: None,
        }]
    );
    assert!(ends_stream(&bob_view, left));

    assert_eq!(
        sse_events(&alice_view, left, &room.clock),
        [SseEvent {
            name: "participant_delete",
            data: json!({"uuid": bob.to_string()}),
            id: None,
        }]
    );
    assert!(!ends_stream(&alice_view, left));
}

#[test]
fn refer_goes_only_to_its_target() {
    let mut room = Room::new(ServiceKind::Vmr);
    let alice = room.join("Alice", Role::Host);
    let bob = room.join("Bob", Role::Host);
    let events = room.cmd(
        alice,
        Command::Transfer {
            target: bob,
            alias: "meet.other".to_owned(),
            role: Role::Guest,
            ticket: Secret::new("one-time-ticket"),
        },
    );
    assert_eq!(
        room.seen_by(bob, &events),
        [SseEvent {
            name: "refer",
            data: json!({"alias": "meet.other", "token": "one-time-ticket"}),
            id: None,
        }]
    );
    assert_eq!(room.seen_by(alice, &events), []);
}

#[test]
fn auditorium_guests_see_the_guest_layout_and_hosts_the_host_layout() {
    let mut room = Room::new(ServiceKind::Auditorium);
    let host = room.join("Host", Role::Host);
    let guest = room.join("Guest", Role::Guest);
    let events = room.cmd(
        host,
        Command::TransformLayout {
            layout: None,
            host_layout: Some(Layout::OnePlusSeven),
            guest_layout: Some(Layout::OneMain),
            overlay_text: Some(true),
            reset: false,
        },
    );
    let for_host = room.seen_by(host, &events);
    let for_guest = room.seen_by(guest, &events);
    let host_layout = find(&for_host, "layout").expect("host gets a layout");
    let guest_layout = find(&for_guest, "layout").expect("guest gets a layout");
    assert_eq!(host_layout["view"], "1:7");
    assert_eq!(guest_layout["view"], "1:0");
    let requested = json!({"primary_screen": {"chair_layout": "1:7", "guest_layout": "1:0"}});
    assert_eq!(host_layout["requested_layout"], requested);
    assert_eq!(guest_layout["requested_layout"], requested);
    assert_eq!(host_layout["overlay_text_enabled"], json!(true));
    assert_eq!(
        host_layout["participants"],
        json!([host.to_string(), guest.to_string()])
    );
    // One main speaker only: the guest's view shows the head of the order.
    assert_eq!(guest_layout["participants"], json!([host.to_string()]));
}

#[test]
fn in_a_vmr_everyone_sees_the_same_layout() {
    let mut room = Room::new(ServiceKind::Vmr);
    let host = room.join("Host", Role::Host);
    let guest = room.join("Guest", Role::Guest);
    let events = room.cmd(
        host,
        Command::TransformLayout {
            layout: Some(Layout::Grid2x2),
            host_layout: None,
            guest_layout: None,
            overlay_text: None,
            reset: false,
        },
    );
    assert_eq!(
        find(&room.seen_by(guest, &events), "layout").map(|l| &l["view"]),
        Some(&json!("4:0"))
    );
    assert_eq!(
        find(&room.seen_by(host, &events), "layout").map(|l| &l["view"]),
        Some(&json!("4:0"))
    );
}

#[test]
fn a_guest_promoted_in_an_auditorium_is_sent_the_host_view() {
    let mut room = Room::new(ServiceKind::Auditorium);
    let host = room.join("Host", Role::Host);
    let guest = room.join("Guest", Role::Guest);
    room.cmd(
        host,
        Command::TransformLayout {
            layout: None,
            host_layout: Some(Layout::OnePlusSeven),
            guest_layout: Some(Layout::OneMain),
            overlay_text: None,
            reset: false,
        },
    );
    let mut viewer = room.viewer(guest);
    let events = room.cmd(host, Command::SetRole(guest, Role::Host));
    let mut extra: Vec<SseEvent> = Vec::new();
    for e in &events {
        viewer.observe(e, |x| extra.push(x));
    }
    assert_eq!(names(&extra), ["layout"]);
    assert_eq!(extra[0].data["view"], "1:7");
    assert_eq!(viewer.role, Role::Host);
}

#[test]
fn updates_stage_and_status_go_to_everyone() {
    let mut room = Room::new(ServiceKind::Vmr);
    let alice = room.join("Alice", Role::Host);
    let bob = room.join("Bob", Role::Host);
    room.now += Duration::from_secs(1);
    room.conference
        .handle_media(room.now, bob, MediaReport::Speaking(true));
    let speaking = room.drain();
    let for_alice = room.seen_by(alice, &speaking);
    assert!(names(&for_alice).contains(&"participant_update"));
    assert_eq!(
        find(&for_alice, "stage"),
        Some(&json!([
            {"participant_uuid": bob.to_string(), "stage_index": 0, "vad": 100},
            {"participant_uuid": alice.to_string(), "stage_index": 1, "vad": 0},
        ]))
    );
    let locked = room.cmd(alice, Command::Lock);
    assert_eq!(
        find(&room.seen_by(bob, &locked), "conference_update").map(|s| &s["locked"]),
        Some(&json!(true))
    );
}

#[test]
fn dtmf_and_conference_end_send_nothing_and_the_end_closes_the_stream() {
    let mut room = Room::new(ServiceKind::Vmr);
    let alice = room.join("Alice", Role::Host);
    let bob = room.join("Bob", Role::Host);
    let dtmf = room.cmd(
        alice,
        Command::SendDtmf {
            target: bob,
            digits: "12#".to_owned(),
        },
    );
    assert_eq!(room.seen_by(bob, &dtmf), []);
    let viewer = room.viewer(bob);
    let end = Event::ConferenceEnded {
        reason: DisconnectReason::ConferenceEndedByHost,
    };
    assert_eq!(sse_events(&viewer, &end, &room.clock), []);
    assert!(ends_stream(&viewer, &end));
}

// === splash screens (§10 per-room themes) ===

#[test]
fn a_guest_waiting_for_the_host_in_a_themed_room_is_shown_the_splash_after_the_sync() {
    let mut room = Room::hosted(Some(example_theme()));
    let guest = room.join("Guest", Role::Guest);
    let sync = sync_events(
        &room.viewer(guest),
        &room.conference.snapshot(),
        &room.clock,
    );
    assert_eq!(
        names(&sync),
        [
            "participant_sync_begin",
            "participant_create",
            "participant_sync_end",
            "conference_update",
            "layout",
            "stage",
            "splash_screen",
        ]
    );
    assert_eq!(
        sync[6].data,
        json!({"screen_key": "direct_media_waiting_for_host", "display_duration": 0})
    );
}

#[test]
fn the_splash_is_cleared_when_a_host_arrives_and_only_the_waiting_guest_sees_its_own() {
    let mut room = Room::hosted(Some(example_theme()));
    let first = room.join("First", Role::Guest);
    let mut first_stream = room.viewer(first);

    // Another Guest starting to wait shows nothing to the first.
    let (second, arrival) = room.join_as("Second", Role::Guest, CallType::Video);
    assert_eq!(
        splash_screens(&streamed(&mut first_stream, &arrival, &room.clock)),
        Vec::<&Value>::new()
    );
    let mut second_stream = room.viewer(second);

    let (host, admitted) = room.join_as("Host", Role::Host, CallType::Video);
    let for_first = streamed(&mut first_stream, &admitted, &room.clock);
    // Exactly one clear, right after the viewer's own update that admitted it.
    assert_eq!(splash_screens(&for_first), [&Value::Null]);
    let clear = for_first
        .iter()
        .position(|e| e.name == "splash_screen")
        .expect("cleared");
    assert_eq!(for_first[clear - 1].name, "participant_update");
    assert_eq!(for_first[clear - 1].data["uuid"], first.to_string());
    assert_eq!(
        splash_screens(&streamed(&mut second_stream, &admitted, &room.clock)),
        [&Value::Null]
    );

    // The Host never sees anyone's splash screens; nor does anyone once admitted.
    let mut host_stream = room.viewer(host);
    assert_eq!(
        splash_screens(&streamed(&mut host_stream, &admitted, &room.clock)),
        Vec::<&Value>::new()
    );
    let sync = sync_events(
        &room.viewer(first),
        &room.conference.snapshot(),
        &room.clock,
    );
    assert_eq!(splash_screens(&sync), Vec::<&Value>::new());
}

#[test]
fn rooms_without_a_theme_send_no_splash_screens() {
    let mut room = Room::hosted(None);
    let guest = room.join("Guest", Role::Guest);
    let mut stream = room.viewer(guest);
    let sync = sync_events(&stream, &room.conference.snapshot(), &room.clock);
    assert_eq!(splash_screens(&sync), Vec::<&Value>::new());
    let (_, admitted) = room.join_as("Host", Role::Host, CallType::Video);
    let live = streamed(&mut stream, &admitted, &room.clock);
    assert!(names(&live).contains(&"participant_update"));
    assert_eq!(splash_screens(&live), Vec::<&Value>::new());
}

#[test]
fn waiting_for_admission_shows_no_splash_but_then_waiting_for_the_host_does() {
    let mut room = Room::hosted(Some(example_theme()));
    // A control-only Host can lock the room without starting the meeting.
    let (host, _) = room.join_as("Host", Role::Host, CallType::ControlOnly);
    room.cmd(host, Command::Lock);
    let guest = room.join("Guest", Role::Guest);
    let mut stream = room.viewer(guest);
    let sync = sync_events(&stream, &room.conference.snapshot(), &room.clock);
    assert_eq!(splash_screens(&sync), Vec::<&Value>::new());

    let admitted = room.cmd(host, Command::Admit(guest));
    assert_eq!(
        splash_screens(&streamed(&mut stream, &admitted, &room.clock)),
        [&json!({"screen_key": "direct_media_waiting_for_host", "display_duration": 0})]
    );
    let started = room.cmd(host, Command::StartConference);
    assert_eq!(
        splash_screens(&streamed(&mut stream, &started, &room.clock)),
        [&Value::Null]
    );
}
