//! HTTPS (and optional plain-HTTP redirect) listeners serving the axum router, with graceful shutdown.
