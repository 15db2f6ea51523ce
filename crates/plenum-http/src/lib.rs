//! plenum-http: the HTTP front end of the plenum node: health check, client REST API v2
//! with its event stream and the provisioning page ([`provision`]), admin status API v1,
//! and the web app with its branding ([`webapp`]). Owns every JSON shape; reaches the node only through the
//! [`AdminBackend`] and [`ClientBackend`] trait objects in [`AppState`].
//!
//! Handlers read the client address from `ConnectInfo<SocketAddr>`, so the router must
//! be served with connect info (the node's server inserts it on every request).

#![forbid(unsafe_code)]

use std::fmt;
use std::sync::Arc;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::middleware::from_fn_with_state;
use client::RateLimiter;
use client::backend::ClientBackend;
use tokio::sync::Semaphore;
use tower_http::trace::TraceLayer;
use webapp::WebApp;

mod admin;
mod auth;
mod backend;
mod body_limit;
pub mod client;
mod error;
mod health;
mod html;
mod metrics;
pub mod provision;
mod timestamp;
mod view;
pub mod webapp;

pub use backend::{AdminBackend, BackendError, LiveRegistration};
pub use error::ApiError;
pub use view::{
    AdminActor, AuditRecord, ConferenceRecord, LiveConference, LiveConferenceDetail,
    LiveParticipant, MediaFigures, MetricsAccess, NodeCapacity, NodeLoad, NodeMetrics, Page,
    PageRequest, ParticipantCount, ParticipantRecord, StreamFigures,
};

/// Largest request body accepted (chat payloads are capped lower by the core).
const BODY_LIMIT: usize = 64 * 1024;

/// How many admin credential checks (argon2) may run at once.
const CONCURRENT_CREDENTIAL_CHECKS: usize = 2;

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The node, as seen by the admin status API.
    admin: Arc<dyn AdminBackend>,
    /// The node, as seen by the client REST API v2.
    client: Arc<dyn ClientBackend>,
    /// Per-address budget of `request_token` calls.
    client_limiter: Arc<RateLimiter>,
    /// Origins allowed to call the client API cross-origin; empty = no CORS.
    cors_origins: Arc<[String]>,
    /// Bounds concurrent credential checks so a flood of logins can't occupy every core.
    verify_permits: Arc<Semaphore>,
    /// The web app's files and the branding folder.
    webapp: WebApp,
    /// Requests and sign-in failures counted for `/metrics`.
    http_counters: metrics::HttpCounters,
}

impl AppState {
    /// State over the given admin and client backends, without CORS, serving the web app
    /// embedded in the binary without branding.
    pub fn new(admin: Arc<dyn AdminBackend>, client: Arc<dyn ClientBackend>) -> AppState {
        AppState {
            admin,
            client,
            client_limiter: Arc::new(RateLimiter::new(
                client::REQUEST_TOKEN_BURST,
                client::REQUEST_TOKEN_REFILL,
            )),
            cors_origins: Arc::from(Vec::new()),
            verify_permits: Arc::new(Semaphore::new(CONCURRENT_CREDENTIAL_CHECKS)),
            webapp: WebApp::embedded(),
            http_counters: metrics::HttpCounters::default(),
        }
    }

    /// Serves `webapp` (other files, or with a branding folder) instead of the embedded
    /// web app.
    pub fn with_webapp(mut self, webapp: WebApp) -> AppState {
        self.webapp = webapp;
        self
    }

    /// Lets browsers on `origins` (e.g. `https://app.example.com`) call the client API
    /// cross-origin, with the `token`, `pin` and `content-type` request headers.
    pub fn with_cors_origins(mut self, origins: Vec<String>) -> AppState {
        self.cors_origins = Arc::from(origins);
        self
    }
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// The whole HTTP API: `GET /health` (no auth), the client REST API v2 under
/// `/api/client/v2/` (tokens), the admin status API under `/api/admin/status/v1/`
/// (HTTP Basic auth), and the web app (`/`, `/webapp/…`, `/webapp2/…`; see [`webapp`]).
/// Unknown paths answer a JSON 404.
pub fn router(state: AppState) -> Router {
    let admin = admin::routes().layer(from_fn_with_state(state.clone(), auth::require_admin));
    Router::new()
        .route("/health", axum::routing::get(health::health))
        .route("/metrics", axum::routing::get(metrics::metrics))
        .nest("/api/client/v2", client::routes(&state))
        .nest("/api/admin/status/v1", admin)
        .merge(webapp::routes(state.webapp.clone()))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(body_limit::limit_body))
        .layer(from_fn_with_state(state.clone(), metrics::count_requests))
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
