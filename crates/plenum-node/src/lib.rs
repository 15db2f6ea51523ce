//! plenum-node: configuration, TLS, wiring of the crates, conference drivers, shutdown.

pub mod config;
pub mod server;
pub mod tls;
