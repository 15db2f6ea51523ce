//! plenum-node: configuration, TLS, wiring of the crates, conference drivers, shutdown.

#![forbid(unsafe_code)]

pub mod admin;
pub mod cli;
pub mod client;
pub mod config;
pub mod doctor;
pub mod driver;
pub mod history;
pub mod node;
pub mod password;
pub mod provision;
pub mod registrar;
pub mod run;
pub mod server;
pub mod session;
pub mod sso;
pub mod tls;
