//! plenum-http: the HTTP front end of the plenum node (health check and admin status
//! API v1 for now). Owns every JSON shape; reaches the node only through the
//! [`AdminBackend`] trait object in [`AppState`].
//!
//! Handlers read the client address from `ConnectInfo<SocketAddr>`, so the router must
//! be served with connect info (the node's server inserts it on every request).

use std::fmt;
use std::sync::Arc;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::middleware::from_fn_with_state;
use tokio::sync::Semaphore;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

mod admin;
mod auth;
mod backend;
pub mod client;
mod error;
mod health;
mod timestamp;
mod view;

pub use backend::{AdminBackend, BackendError};
pub use error::ApiError;
pub use view::{
    AdminActor, AuditRecord, ConferenceRecord, LiveConference, LiveConferenceDetail,
    LiveParticipant, Page, PageRequest, ParticipantRecord,
};

/// Largest request body accepted (none of the API's requests needs a body yet).
const BODY_LIMIT: usize = 64 * 1024;

/// How many admin credential checks (argon2) may run at once.
const CONCURRENT_CREDENTIAL_CHECKS: usize = 2;

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The node, as seen by the admin status API.
    admin: Arc<dyn AdminBackend>,
    /// Bounds concurrent credential checks so a flood of logins can't occupy every core.
    verify_permits: Arc<Semaphore>,
}

impl AppState {
    /// State over the given admin backend.
    pub fn new(admin: Arc<dyn AdminBackend>) -> AppState {
        AppState {
            admin,
            verify_permits: Arc::new(Semaphore::new(CONCURRENT_CREDENTIAL_CHECKS)),
        }
    }
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// The whole HTTP API: `GET /health` (no auth) and the admin status API under
/// `/api/admin/status/v1/` (HTTP Basic auth). Unknown paths answer a JSON 404.
pub fn router(state: AppState) -> Router {
    let admin = admin::routes().layer(from_fn_with_state(state.clone(), auth::require_admin));
    Router::new()
        .route("/health", axum::routing::get(health::health))
        .nest("/api/admin/status/v1", admin)
        .fallback(not_found)
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_failure(()),
        )
        .with_state(state)
}

/// The span of one request; `matched_path` is the route template, so ids don't explode
/// the cardinality.
fn request_span(request: &Request) -> tracing::Span {
    let matched_path = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    tracing::debug_span!(
        "request",
        method = %request.method(),
        matched_path,
    )
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint")
}
