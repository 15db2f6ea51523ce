#!/usr/bin/env bash
# Runs every test of plenum: formatting and lints, the unit, scenario and property tests,
# the store tests against SQLite and a throwaway PostgreSQL, the whole-node tests, the
# client API conformance suite (Pexip's own validators), and the real Pexip SDK and the web
# app in Debian's headless Chromium and Firefox ESR (WebKitGTK where it can do WebRTC).
# Installs what is missing (Debian packages, PostgreSQL, the browsers, npm packages) first.
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
plenum_require_cargo
plenum_apt_install "${PLENUM_BUILD_PACKAGES[@]}"
coturn_was_missing=$(plenum_missing_packages coturn)
plenum_apt_install "${PLENUM_TEST_PACKAGES[@]}"
# Debian enables and starts coturn's own TURN server when it installs the package; the
# tests only need the binary (they start theirs on loopback), so one we installed is
# switched off again rather than left listening on the machine.
if [[ -n $coturn_was_missing ]] && command -v systemctl >/dev/null && systemctl is-enabled coturn >/dev/null 2>&1; then
    systemctl disable --now coturn >/dev/null 2>&1 || true
fi

# A throwaway PostgreSQL cluster on a loopback port, stopped again on exit.
eval "$(scripts/test-postgres.sh env)"
trap 'scripts/test-postgres.sh stop >/dev/null 2>&1 || true' EXIT

echo "== rustfmt" >&2
cargo fmt --all --check
echo "== clippy" >&2
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== tests" >&2
cargo test --workspace --locked
echo "== fuzzing, a short run of each target (docs/reliability.md)" >&2
scripts/fuzz.sh 60
echo "== client API conformance and browser suites (Chromium, Firefox ESR, WebKitGTK)" >&2
scripts/test-node-suites.sh
echo "== benches compile" >&2
# Compiled and linked in the dev profile, on the artifacts the tests built: a release
# build of everything only to prove the benches compile costs CI ~9 minutes on two
# cores. `cargo bench` runs them in release.
cargo build --workspace --benches --locked
