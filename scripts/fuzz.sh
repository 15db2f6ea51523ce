#!/usr/bin/env bash
# Runs every fuzz target (structured fuzzing on stable Rust, crates/plenum-fuzz) for a
# while:
#   scripts/fuzz.sh [seconds per target, default 60]
# Targets (tests named fuzz_*): sdp_offer and rtp_rtcp (plenum-media, side by side in one
# test binary), config and client_api (plenum-node), provisioning (plenum-http); one test
# binary after the other, so about 4 × the given time. The test command runs it with 60 (a short run); docs/reliability.md
# has the long runs (scripts/fuzz.sh 1800). A failure prints the shrunk input: add it as
# a regression test beside the target.
set -uo pipefail
cd "$(dirname "$0")/.."
export PLENUM_FUZZ_SECONDS=${1:-60}
echo "== fuzz targets, ${PLENUM_FUZZ_SECONDS}s each" >&2
# The same feature set as `cargo test --workspace`, so nothing is rebuilt.
cargo test --workspace --locked -q -- fuzz_ --nocapture 2>&1 \
    | grep -E 'fuzz [a-z_]+: [0-9]+ cases|panicked|minimal input|^test result: FAILED|^failures' >&2
status=${PIPESTATUS[0]}
[[ $status -eq 0 ]] || echo "a fuzz target FAILED (status $status)" >&2
exit "$status"
