//! Admin status API v1 (`/api/admin/status/v1/`): live conferences, participants and device
//! registrations, history, audit log, and the lock / disconnect actions, with their JSON
//! shapes.
//!
//! Lists answer `{"objects": […], "meta": {…}}`; actions answer `{"status":"success"}`;
//! times are epoch seconds (float) with an `…_iso` RFC 3339 twin (`admin/dto.rs`).

mod dto;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

use dto::{
    AuditDto, ConferenceDetailDto, ConferenceDto, ConferenceRecordDto, List, ParticipantDto,
    ParticipantRecordDto, RegistrationDto, Success, WorkerVmDto,
};

use crate::AppState;
use crate::error::ApiError;
use crate::view::{AdminActor, PageRequest};

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
