//! Admin status API v1 (`/api/admin/status/v1/`): live conferences, participants and device
//! registrations, history, audit log, and the lock / disconnect actions, with their JSON
//! shapes.
//!
//! Lists answer `{"objects": […], "meta": {…}}`; actions answer `{"status":"success"}`;
//! times are epoch seconds (float) with an `…_iso` RFC 3339 twin.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AppState;
use crate::backend::LiveRegistration;
use crate::error::ApiError;
use crate::timestamp::{epoch_seconds, rfc3339};
use crate::view::{
    AdminActor, AuditRecord, ConferenceRecord, LiveConference, LiveConferenceDetail,
    LiveParticipant, NodeLoad, Page, PageRequest, ParticipantRecord,
};

const CONFERENCE_NOT_FOUND: &str = "conference not found";
const PARTICIPANT_NOT_FOUND: &str = "participant not found";
const REGISTRATION_NOT_FOUND: &str = "registration not found";

/// The routes of the admin status API, relative to `/api/admin/status/v1`; the caller
/// adds authentication.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/conference/", get(list_conferences))
        .route("/conference/{id}/", get(show_conference))
        .route("/conference/{id}/lock", action(Action::Lock))
        .route("/conference/{id}/unlock", action(Action::Unlock))
        .route("/conference/{id}/disconnect", action(Action::EndConference))
        .route("/participant/", get(list_participants))
        .route(
            "/participant/{id}/disconnect",
            action(Action::DisconnectParticipant),
        )
        .route("/registration/", get(list_registrations))
        .route("/worker_vm/", get(list_worker_vms))
        .route("/history/conference/", get(conference_history))
        .route(
            "/history/conference/{id}/participant/",
            get(conference_history_participants),
        )
        .route("/audit/", get(audit_log))
        .fallback(api_not_found)
}

// === handlers ===

async fn api_not_found() -> ApiError {
    ApiError::NotFound("no such api endpoint")
}

async fn list_conferences(
    State(state): State<AppState>,
) -> Result<Json<List<ConferenceDto>>, ApiError> {
    let conferences = state
        .admin
        .live_conferences()
        .await
        .map_err(|e| ApiError::from_backend(e, CONFERENCE_NOT_FOUND))?;
    Ok(Json(List::unpaged(
        conferences.iter().map(ConferenceDto::from).collect(),
    )))
}

async fn show_conference(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<ConferenceDetailDto>, ApiError> {
    let id = parse_id(id, CONFERENCE_NOT_FOUND)?;
    let detail = state
        .admin
        .live_conference(id)
        .await
        .map_err(|e| ApiError::from_backend(e, CONFERENCE_NOT_FOUND))?;
    Ok(Json(ConferenceDetailDto::from(&detail)))
}

async fn list_participants(
    State(state): State<AppState>,
) -> Result<Json<List<ParticipantDto>>, ApiError> {
    let participants = state
        .admin
        .live_participants()
        .await
        .map_err(|e| ApiError::from_backend(e, PARTICIPANT_NOT_FOUND))?;
    Ok(Json(List::unpaged(
        participants.iter().map(ParticipantDto::from).collect(),
    )))
}

async fn list_registrations(
    State(state): State<AppState>,
) -> Result<Json<List<RegistrationDto>>, ApiError> {
    let registrations = state
        .admin
        .live_registrations()
        .await
        .map_err(|e| ApiError::from_backend(e, REGISTRATION_NOT_FOUND))?;
    Ok(Json(List::unpaged(
        registrations.iter().map(RegistrationDto::from).collect(),
    )))
}

async fn list_worker_vms(
    State(state): State<AppState>,
) -> Result<Json<List<WorkerVmDto>>, ApiError> {
    let load = state
        .admin
        .node_load()
        .await
        .map_err(|e| ApiError::from_backend(e, "node not found"))?;
    Ok(Json(List::unpaged(vec![WorkerVmDto::from(&load)])))
}

async fn conference_history(
    State(state): State<AppState>,
    query: Result<Query<PagingParams>, QueryRejection>,
) -> Result<Json<List<ConferenceRecordDto>>, ApiError> {
    let request = paging(query)?;
    let page = state
        .admin
        .conference_history(request)
        .await
        .map_err(|e| ApiError::from_backend(e, CONFERENCE_NOT_FOUND))?;
    Ok(Json(List::paged(request, page, |c| {
        ConferenceRecordDto::from(c)
    })))
}

async fn conference_history_participants(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<List<ParticipantRecordDto>>, ApiError> {
    let id = parse_id(id, CONFERENCE_NOT_FOUND)?;
    let participants = state
        .admin
        .conference_history_participants(id)
        .await
        .map_err(|e| ApiError::from_backend(e, CONFERENCE_NOT_FOUND))?;
    Ok(Json(List::unpaged(
        participants
            .iter()
            .map(ParticipantRecordDto::from)
            .collect(),
    )))
}

async fn audit_log(
    State(state): State<AppState>,
    query: Result<Query<PagingParams>, QueryRejection>,
) -> Result<Json<List<AuditDto>>, ApiError> {
    let request = paging(query)?;
    let page = state
        .admin
        .audit_log(request)
        .await
        .map_err(|e| ApiError::from_backend(e, "audit entry not found"))?;
    Ok(Json(List::paged(request, page, |a| AuditDto::from(a))))
}

/// An admin action on a live conference or participant.
#[derive(Debug, Clone, Copy)]
enum Action {
    Lock,
    Unlock,
    EndConference,
    DisconnectParticipant,
}

/// `POST` route for one admin action.
fn action(action: Action) -> axum::routing::MethodRouter<AppState> {
    post(
        move |State(state): State<AppState>,
              Extension(admin): Extension<AdminActor>,
              id: Result<Path<String>, PathRejection>| run_action(state, admin, id, action),
    )
}

/// Carries out an action through the backend (which audits it); unknown ids are 404.
async fn run_action(
    state: AppState,
    admin: AdminActor,
    id: Result<Path<String>, PathRejection>,
    action: Action,
) -> Result<Json<Success>, ApiError> {
    let not_found = match action {
        Action::DisconnectParticipant => PARTICIPANT_NOT_FOUND,
        _ => CONFERENCE_NOT_FOUND,
    };
    let id = parse_id(id, not_found)?;
    let done = match action {
        Action::Lock => state.admin.lock_conference(id, true, admin).await,
        Action::Unlock => state.admin.lock_conference(id, false, admin).await,
        Action::EndConference => state.admin.disconnect_conference(id, admin).await,
        Action::DisconnectParticipant => state.admin.disconnect_participant(id, admin).await,
    };
    done.map_err(|e| ApiError::from_backend(e, not_found))?;
    Ok(Json(Success::OK))
}

// === request parsing ===

/// An id in the path; anything that is not a uuid names nothing, hence 404.
fn parse_id(
    path: Result<Path<String>, PathRejection>,
    not_found: &'static str,
) -> Result<Uuid, ApiError> {
    let Path(raw) = path.map_err(|_| ApiError::NotFound(not_found))?;
    Uuid::parse_str(&raw).map_err(|_| ApiError::NotFound(not_found))
}

/// `?limit=&offset=` as given; validated by [`paging`] so errors can say what is wrong.
#[derive(Debug, Deserialize)]
struct PagingParams {
    limit: Option<String>,
    offset: Option<String>,
}

fn paging(query: Result<Query<PagingParams>, QueryRejection>) -> Result<PageRequest, ApiError> {
    let Query(params) =
        query.map_err(|_| ApiError::InvalidParameter("malformed query string".to_owned()))?;
    let limit = match params.limit.as_deref() {
        None => PageRequest::DEFAULT_LIMIT,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=PageRequest::MAX_LIMIT).contains(l))
            .ok_or_else(|| {
                ApiError::InvalidParameter(format!(
                    "limit must be an integer from 1 to {}",
                    PageRequest::MAX_LIMIT
                ))
            })?,
    };
    let offset = match params.offset.as_deref() {
        None => 0,
        Some(raw) => raw
            .parse::<u64>()
            .ok()
            .filter(|o| i64::try_from(*o).is_ok())
            .ok_or_else(|| {
                ApiError::InvalidParameter("offset must be a non-negative integer".to_owned())
            })?,
    };
    Ok(PageRequest { limit, offset })
}

// === JSON ===

/// `{"status":"success"}`.
#[derive(Debug, Serialize)]
struct Success {
    status: &'static str,
}

impl Success {
    const OK: Success = Success { status: "success" };
}

/// `{"objects": […], "meta": {…}}`.
#[derive(Debug, Serialize)]
struct List<T> {
    objects: Vec<T>,
    meta: Meta,
}

/// Live lists carry only `total_count`; paged lists also echo `limit` and `offset`.
#[derive(Debug, Serialize)]
struct Meta {
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<u64>,
    total_count: u64,
}

impl<T> List<T> {
    fn unpaged(objects: Vec<T>) -> List<T> {
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

    fn paged<V>(request: PageRequest, page: Page<V>, to_dto: impl Fn(&V) -> T) -> List<T> {
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
struct ConferenceDto {
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
struct ConferenceDetailDto {
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
struct ParticipantDto {
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
struct WorkerVmDto {
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
struct RegistrationDto {
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
struct ConferenceRecordDto {
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
struct ParticipantRecordDto {
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
struct AuditDto {
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
