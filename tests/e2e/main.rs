//! Whole-node tests: a real node (HTTPS, SQLite history, conference drivers) on
//! 127.0.0.1:0, driven over HTTPS and through its Rust API.

mod admin_status;
mod calls;
mod client_api;
mod lifecycle;
mod support;
mod webapp;
