//! Rebuilds the crate when a migration changes: `sqlx::migrate!` embeds `migrations/` at compile
//! time but cannot watch the directory itself.

#![allow(
    clippy::print_stdout,
    reason = "cargo reads build-script instructions from stdout"
)]

fn main() {
    // A directory path makes cargo scan everything below it for changes.
    println!("cargo:rerun-if-changed=../../migrations");
}
