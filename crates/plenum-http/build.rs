//! Embeds the web app (`webapp-static/` at the workspace root) in the binary: writes
//! `$OUT_DIR/webapp_files.rs`, a slice of `(path, include_bytes!(file))` for every file
//! below it (dot files and dot directories skipped), sorted by path.
//!
//! `include_bytes!` makes rustc track each file's content; `rerun-if-changed` on the
//! directory makes cargo rerun this script when a file is added, removed or changed
//! (cargo compares the newest modification time anywhere below it), so `cargo build`
//! always serves what is on disk.

#![allow(
    clippy::print_stdout,
    reason = "cargo reads a build script's instructions from its stdout"
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let root = manifest_dir.join("../../webapp-static");
    println!("cargo::rerun-if-changed={}", root.display());

    let mut files = Vec::new();
    match root.canonicalize() {
        Ok(root) => collect(&root, "", &mut files),
        Err(error) => println!(
            "cargo::warning=no web app embedded: cannot read {}: {error}",
            root.display()
        ),
    }
    files.sort();

    let mut out = String::from("&[\n");
    for (name, path) in &files {
        // `{:?}` of a `str` is a valid Rust string literal.
        writeln!(out, "    ({name:?}, include_bytes!({path:?})),").expect("writing to a String");
    }
    out.push_str("]\n");
    fs::write(out_dir.join("webapp_files.rs"), out).expect("cannot write webapp_files.rs");
}

/// Adds every file below `dir` as (`/`-separated path relative to the root, absolute
/// path), skipping dot files, dot directories and names that are not UTF-8.
fn collect(dir: &Path, prefix: &str, files: &mut Vec<(String, String)>) {
    let entries = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read the web app directory {}: {e}", dir.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            println!(
                "cargo::warning=web app file skipped (name not UTF-8): {}",
                path.display()
            );
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let relative = format!("{prefix}{name}");
        // Follows symlinks, like `include_bytes!`.
        let metadata =
            fs::metadata(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        if metadata.is_dir() {
            collect(&path, &format!("{relative}/"), files);
        } else if metadata.is_file() {
            let Some(absolute) = path.to_str().map(str::to_owned) else {
                println!(
                    "cargo::warning=web app file skipped (path not UTF-8): {}",
                    path.display()
                );
                continue;
            };
            files.push((relative, absolute));
        }
    }
}
