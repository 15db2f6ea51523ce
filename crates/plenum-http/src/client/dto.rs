//! JSON shapes shared by the REST answers and the event stream: the participant object
//! (§3.3), ConferenceStatus (§3.4), the `layout` and `stage` events (§6.2), and the
//! service-type names. Field types are exact: the SDK's validators coerce nothing.

use plenum_core::{
    CallType, ConferenceStatus, Layout, LayoutState, ParticipantState, Role, ServiceConfig,
    ServiceKind, StageEntry, WallClock,
};
use serde::Serialize;

/// `YES`/`NO` flags of the participant object.
fn yes_no(flag: bool) -> &'static str {
    if flag { "YES" } else { "NO" }
}

/// The service reached, as `service_type` names it.
pub(crate) fn service_type(kind: ServiceKind) -> &'static str {
    match kind {
        // A reception moves the caller to a room, so a participant never stays in one;
        // `conference` is the closest name the schema allows.
        ServiceKind::Vmr | ServiceKind::Reception | ServiceKind::PersonCall => "conference",
        ServiceKind::Auditorium => "lecture",
        ServiceKind::TestCall => "test_call",
    }
}

/// Where a participant is now, as `current_service_type`/participant `service_type`
/// name it: `waiting_room` until admitted.
pub(crate) fn current_service_type(kind: ServiceKind, waiting: bool) -> &'static str {
    if waiting {
        "waiting_room"
    } else {
        service_type(kind)
    }
}

/// `HOST`/`GUEST`, the token results' spelling.
pub(crate) fn token_role(role: Role) -> &'static str {
    match role {
        Role::Host => "HOST",
        Role::Guest => "GUEST",
    }
}

/// `receive_from_video_mix`: everyone sees the main mix.
#[derive(Debug, Serialize)]
pub(crate) struct VideoMixDto {
    mix_name: &'static str,
    timestamp: u32,
}

/// The participant object of `GET participants` and `participant_create/update`.
#[derive(Debug, Serialize)]
pub(crate) struct ParticipantDto {
    uuid: String,
    display_name: String,
    role: &'static str,
    is_muted: &'static str,
    is_presenting: &'static str,
    is_audio_only_call: &'static str,
    is_video_call: &'static str,
    disconnect_supported: &'static str,
    mute_supported: &'static str,
    transfer_supported: &'static str,
    fecc_supported: &'static str,
    spotlight: f64,
    buzz_time: f64,
    start_time: f64,
    call_direction: &'static str,
    protocol: String,
    encryption: &'static str,
    rx_presentation_policy: &'static str,
    has_media: bool,
    is_external: bool,
    is_streaming_conference: bool,
    is_video_muted: bool,
    is_video_silent: bool,
    supports_direct_chat: bool,
    can_receive_personal_mix: bool,
    external_node_uuid: &'static str,
    local_alias: String,
    overlay_text: String,
    receive_from_video_mix: VideoMixDto,
    service_type: &'static str,
    is_client_muted: bool,
    last_spoken_time: f64,
    presentation_supported: &'static str,
    uri: &'static str,
    vendor: &'static str,
}

impl ParticipantDto {
    /// The object for `p`, a participant of `service`.
    pub(crate) fn new(
        p: &ParticipantState,
        service: &ServiceConfig,
        clock: &WallClock,
    ) -> ParticipantDto {
        let epoch = |at: Option<std::time::Instant>| at.map_or(0.0, |t| clock.epoch_seconds(t));
        ParticipantDto {
            uuid: p.id.to_string(),
            display_name: p.display_name.clone(),
            // A waiting participant has no role yet; `guest` is the one the schema
            // allows that grants nothing.
            role: match p.role {
                Role::Host if p.is_admitted() => "chair",
                _ => "guest",
            },
            is_muted: yes_no(p.is_muted),
            is_presenting: yes_no(p.is_presenting),
            is_audio_only_call: yes_no(p.call_type == CallType::AudioOnly),
            is_video_call: yes_no(p.call_type == CallType::Video),
            disconnect_supported: "YES",
            mute_supported: "YES",
            transfer_supported: "YES",
            fecc_supported: "NO",
            spotlight: epoch(p.spotlight_since),
            buzz_time: epoch(p.hand_raised_at),
            start_time: clock.epoch_seconds(p.joined_at),
            call_direction: if p.dialled { "out" } else { "in" },
            protocol: p.protocol.to_string(),
            encryption: "On",
            rx_presentation_policy: if p.receives_presentation {
                "ALLOW"
            } else {
                "DENY"
            },
            has_media: p.has_media,
            is_external: p.external,
            is_streaming_conference: false,
            is_video_muted: p.is_video_muted,
            is_video_silent: p.is_video_silent,
            supports_direct_chat: false,
            can_receive_personal_mix: false,
            external_node_uuid: "",
            local_alias: service.aliases.first().cloned().unwrap_or_default(),
            overlay_text: p.overlay_text.clone(),
            receive_from_video_mix: VideoMixDto {
                mix_name: "main",
                timestamp: 0,
            },
            service_type: if p.connecting {
                "connecting"
            } else {
                current_service_type(service.kind, !p.is_admitted())
            },
            is_client_muted: p.is_client_muted,
            last_spoken_time: epoch(p.last_spoken_at),
            presentation_supported: "YES",
            uri: "",
            vendor: "",
        }
    }
}

/// ConferenceStatus: `conference_status` result and `conference_update` data.
#[derive(Debug, Serialize)]
pub(crate) struct ConferenceStatusDto {
    locked: bool,
    guests_muted: bool,
    started: bool,
    guests_can_unmute: bool,
    guests_can_present: bool,
    presentation_allowed: bool,
    direct_media: bool,
    breakout_rooms: bool,
    live_captions_available: bool,
}

impl From<&ConferenceStatus> for ConferenceStatusDto {
    fn from(s: &ConferenceStatus) -> ConferenceStatusDto {
        ConferenceStatusDto {
            locked: s.locked,
            guests_muted: s.guests_muted,
            started: s.started,
            guests_can_unmute: s.guests_can_unmute,
            guests_can_present: s.guests_can_present,
            // Hosts may always present; Guests are governed by `guests_can_present`.
            presentation_allowed: true,
            direct_media: false,
            breakout_rooms: false,
            live_captions_available: false,
        }
    }
}

/// The layout a viewer sees: in an auditorium Guests see the Guest layout, everyone
/// else (and everyone in other services) the Host layout.
pub(crate) fn viewed_layout(kind: ServiceKind, role: Role, layout: &LayoutState) -> Layout {
    match (kind, role) {
        (ServiceKind::Auditorium, Role::Guest) => layout.guest_layout,
        _ => layout.host_layout,
    }
}

#[derive(Debug, Serialize)]
struct RequestedLayoutDto {
    primary_screen: PrimaryScreenDto,
}

#[derive(Debug, Serialize)]
struct PrimaryScreenDto {
    chair_layout: &'static str,
    guest_layout: &'static str,
}

/// The `layout` event, as one viewer sees it.
#[derive(Debug, Serialize)]
pub(crate) struct LayoutDto {
    view: &'static str,
    participants: Vec<String>,
    requested_layout: RequestedLayoutDto,
    overlay_text_enabled: bool,
}

impl LayoutDto {
    /// The layout event for a viewer with `role` in a service of `kind`.
    pub(crate) fn new(kind: ServiceKind, role: Role, layout: &LayoutState) -> LayoutDto {
        let view = viewed_layout(kind, role, layout);
        LayoutDto {
            view: view.name(),
            // `on_screen` follows the Hosts' layout; a smaller view shows its head.
            participants: layout
                .on_screen
                .iter()
                .take(view.capacity())
                .map(|id| id.to_string())
                .collect(),
            requested_layout: RequestedLayoutDto {
                primary_screen: PrimaryScreenDto {
                    chair_layout: layout.host_layout.name(),
                    guest_layout: layout.guest_layout.name(),
                },
            },
            overlay_text_enabled: layout.overlay_text_enabled,
        }
    }
}

/// One entry of the `stage` event.
#[derive(Debug, Serialize)]
pub(crate) struct StageEntryDto {
    participant_uuid: String,
    stage_index: usize,
    vad: u32,
}

impl From<&StageEntry> for StageEntryDto {
    fn from(e: &StageEntry) -> StageEntryDto {
        StageEntryDto {
            participant_uuid: e.id.to_string(),
            stage_index: e.stage_index,
            vad: if e.speaking { 100 } else { 0 },
        }
    }
}

/// The `stage` event data.
pub(crate) fn stage(entries: &[StageEntry]) -> Vec<StageEntryDto> {
    entries.iter().map(StageEntryDto::from).collect()
}
