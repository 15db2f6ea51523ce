//! The admin status API's JSON: `{"status":"success"}`, lists with their `meta`, and one
//! DTO per object (live conferences, participants, registrations, the node's load,
//! history records, audit entries), built from the backend's views.

use serde::Serialize;

use crate::backend::LiveRegistration;
use crate::timestamp::{epoch_seconds, rfc3339};
use crate::view::{
    AuditRecord, ConferenceRecord, LiveConference, LiveConferenceDetail, LiveParticipant, NodeLoad,
    Page, PageRequest, ParticipantRecord,
};

/// `{"status":"success"}`.
#[derive(Debug, Serialize)]
pub(super) struct Success {
    status: &'static str,
}

impl Success {
    pub(super) const OK: Success = Success { status: "success" };
}

/// `{"objects": […], "meta": {…}}`.
#[derive(Debug, Serialize)]
pub(super) struct List<T> {
    objects: Vec<T>,
    meta: Meta,
}

/// Live lists carry only `total_count`; paged lists also echo `limit` and `offset`.
#[derive(Debug, Serialize)]
pub(super) struct Meta {
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<u64>,
    total_count: u64,
}

impl<T> List<T> {
    pub(super) fn unpaged(objects: Vec<T>) -> List<T> {
        let total_count = u64::try_from(objects.len()).unwrap_or(u64::MAX);
        List {
            objects,
            meta: Meta {
                limit: None,
                offset: None,
                total_count,
            },
        }
    }

    pub(super) fn paged<V>(
        request: PageRequest,
        page: Page<V>,
        to_dto: impl Fn(&V) -> T,
    ) -> List<T> {
        List {
            objects: page.items.iter().map(to_dto).collect(),
            meta: Meta {
                limit: Some(request.limit),
                offset: Some(request.offset),
                total_count: page.total_count,
            },
        }
    }
}

#[derive(Debug, Serialize)]
pub(super) struct ConferenceDto {
    id: String,
    service_name: String,
    service_type: &'static str,
    alias: String,
    start_time: f64,
    start_time_iso: String,
    locked: bool,
    guests_muted: bool,
    started: bool,
    participant_count: u32,
}

impl From<&LiveConference> for ConferenceDto {
    fn from(c: &LiveConference) -> Self {
        ConferenceDto {
            id: c.id.to_string(),
            service_name: c.service_name.clone(),
            service_type: c.service_type.name(),
            alias: c.alias.clone(),
            start_time: epoch_seconds(c.started_at),
            start_time_iso: rfc3339(c.started_at),
            locked: c.locked,
            guests_muted: c.guests_muted,
            started: c.started,
            participant_count: c.participant_count,
        }
    }
}

#[derive(Debug, Serialize)]
pub(super) struct ConferenceDetailDto {
    #[serde(flatten)]
    conference: ConferenceDto,
    participants: Vec<ParticipantDto>,
}

impl From<&LiveConferenceDetail> for ConferenceDetailDto {
    fn from(d: &LiveConferenceDetail) -> Self {
        ConferenceDetailDto {
            conference: ConferenceDto::from(&d.conference),
            participants: d.participants.iter().map(ParticipantDto::from).collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub(super) struct ParticipantDto {
    id: String,
    conference_id: String,
    display_name: String,
    role: String,
    call_type: String,
    protocol: String,
    waiting: Option<&'static str>,
    connecting: bool,
    call_direction: &'static str,
    joined_at: f64,
    joined_at_iso: String,
    is_muted: bool,
    is_presenting: bool,
    media_quality: Option<serde_json::Value>,
}

impl From<&LiveParticipant> for ParticipantDto {
    fn from(p: &LiveParticipant) -> Self {
        ParticipantDto {
            id: p.id.to_string(),
            conference_id: p.conference_id.to_string(),
            display_name: p.display_name.clone(),
            role: p.role.to_string(),
            call_type: p.call_type.to_string(),
            protocol: p.protocol.to_string(),
            waiting: p.waiting.map(|w| match w {
                plenum_core::Waiting::ForHost => "for_host",
                plenum_core::Waiting::ForAdmission => "for_admission",
            }),
            connecting: p.connecting,
            call_direction: if p.dialled { "out" } else { "in" },
            joined_at: epoch_seconds(p.joined_at),
            joined_at_iso: rfc3339(p.joined_at),
            is_muted: p.is_muted,
            is_presenting: p.is_presenting,
            media_quality: p.media_quality.clone(),
        }
    }
}

/// This node's capacity and load; names follow Pexip's `worker_vm` status resource
/// (one entry: plenum is one node until clustering).
#[derive(Debug, Serialize)]
pub(super) struct WorkerVmDto {
    name: String,
    node_type: &'static str,
    maintenance_mode: bool,
    /// "measured", "configured", or "measuring" (nothing is limited yet).
    capacity_source: &'static str,
    max_hd_calls: Option<u64>,
    max_sd_calls: Option<u64>,
    max_audio_calls: Option<u64>,
    /// Percent of the capacity the media calls use.
    media_load: Option<f64>,
    hd_calls: u64,
    sd_calls: u64,
    audio_calls: u64,
    /// CPU ms per second one call of each class costs on this machine.
    hd_call_cost_ms: Option<f64>,
    sd_call_cost_ms: Option<f64>,
    audio_call_cost_ms: Option<f64>,
}

impl From<&NodeLoad> for WorkerVmDto {
    fn from(l: &NodeLoad) -> Self {
        let c = l.capacity.as_ref();
        WorkerVmDto {
            name: l.name.clone(),
            node_type: "CONFERENCING",
            maintenance_mode: l.maintenance_mode,
            capacity_source: c.map_or("measuring", |c| c.source),
            max_hd_calls: c.map(|c| c.max_calls[0]),
            max_sd_calls: c.map(|c| c.max_calls[1]),
            max_audio_calls: c.map(|c| c.max_calls[2]),
            media_load: c.map(|c| (c.media_load_percent * 10.0).round() / 10.0),
            hd_calls: l.calls[0],
            sd_calls: l.calls[1],
            audio_calls: l.calls[2],
            hd_call_cost_ms: c.map(|c| c.cost_ms[0]),
            sd_call_cost_ms: c.map(|c| c.cost_ms[1]),
            audio_call_cost_ms: c.map(|c| c.cost_ms[2]),
        }
    }
}

/// A live registration; names follow Pexip's `registration_alias` status resource.
#[derive(Debug, Serialize)]
pub(super) struct RegistrationDto {
    id: String,
    alias: String,
    username: String,
    /// The client's IP address only; the port is `remote_port`.
    remote_address: String,
    remote_port: u16,
    /// Registrations come only through the client REST API, i.e. from WebRTC clients.
    protocol: &'static str,
    start_time: f64,
    start_time_iso: String,
    expires_at: f64,
    expires_at_iso: String,
    user_agent: String,
}

impl From<&LiveRegistration> for RegistrationDto {
    fn from(r: &LiveRegistration) -> Self {
        RegistrationDto {
            id: r.id.to_string(),
            alias: r.alias.clone(),
            username: r.username.clone(),
            remote_address: r.remote_addr.ip().to_string(),
            remote_port: r.remote_addr.port(),
            protocol: "WebRTC",
            start_time: epoch_seconds(r.registered_at),
            start_time_iso: rfc3339(r.registered_at),
            expires_at: epoch_seconds(r.expires_at),
            expires_at_iso: rfc3339(r.expires_at),
            user_agent: r.user_agent.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub(super) struct ConferenceRecordDto {
    id: String,
    service_name: String,
    service_type: String,
    alias: String,
    start_time: f64,
    start_time_iso: String,
    end_time: Option<f64>,
    end_time_iso: Option<String>,
    duration_seconds: Option<u64>,
    end_reason: Option<String>,
    max_participants: u64,
    participant_count: u64,
}

impl From<&ConferenceRecord> for ConferenceRecordDto {
    fn from(c: &ConferenceRecord) -> Self {
        ConferenceRecordDto {
            id: c.id.to_string(),
            service_name: c.service_name.clone(),
            service_type: c.service_type.clone(),
            alias: c.alias.clone(),
            start_time: epoch_seconds(c.started_at),
            start_time_iso: rfc3339(c.started_at),
            end_time: c.ended_at.map(epoch_seconds),
            end_time_iso: c.ended_at.map(rfc3339),
            duration_seconds: c
                .ended_at
                .and_then(|end| end.duration_since(c.started_at).ok())
                .map(|d| d.as_secs()),
            end_reason: c.end_reason.clone(),
            max_participants: c.max_participants,
            participant_count: c.participant_count,
        }
    }
}

#[derive(Debug, Serialize)]
pub(super) struct ParticipantRecordDto {
    id: String,
    conference_id: String,
    display_name: String,
    role: String,
    call_type: String,
    protocol: String,
    remote_address: Option<String>,
    joined_at: f64,
    joined_at_iso: String,
    left_at: Option<f64>,
    left_at_iso: Option<String>,
    duration_seconds: Option<u64>,
    disconnect_reason: Option<String>,
    pex_code: Option<u16>,
    media_quality: Option<serde_json::Value>,
}

impl From<&ParticipantRecord> for ParticipantRecordDto {
    fn from(p: &ParticipantRecord) -> Self {
        ParticipantRecordDto {
            id: p.id.to_string(),
            conference_id: p.conference_id.to_string(),
            display_name: p.display_name.clone(),
            role: p.role.clone(),
            call_type: p.call_type.clone(),
            protocol: p.protocol.clone(),
            remote_address: p.remote_address.clone(),
            joined_at: epoch_seconds(p.joined_at),
            joined_at_iso: rfc3339(p.joined_at),
            left_at: p.left_at.map(epoch_seconds),
            left_at_iso: p.left_at.map(rfc3339),
            duration_seconds: p.duration_seconds,
            disconnect_reason: p.disconnect_reason.clone(),
            pex_code: p.pex_code,
            media_quality: p.media_quality.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub(super) struct AuditDto {
    id: i64,
    time: f64,
    time_iso: String,
    admin_user: String,
    action: String,
    target: String,
    detail: Option<serde_json::Value>,
    remote_address: Option<String>,
}

impl From<&AuditRecord> for AuditDto {
    fn from(a: &AuditRecord) -> Self {
        AuditDto {
            id: a.id,
            time: epoch_seconds(a.at),
            time_iso: rfc3339(a.at),
            admin_user: a.admin_user.clone(),
            action: a.action.clone(),
            target: a.target.clone(),
            detail: a.detail.clone(),
            remote_address: a.remote_address.clone(),
        }
    }
}
