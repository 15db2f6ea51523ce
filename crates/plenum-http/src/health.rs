//! `GET /health`: unauthenticated liveness check for load balancers and monitoring.

use axum::Json;
use serde::Serialize;

/// `{"status":"ok","version":"<crate version>"}`.
#[derive(Debug, Serialize)]
pub(crate) struct Health {
    status: &'static str,
    version: &'static str,
}

pub(crate) async fn health() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}
