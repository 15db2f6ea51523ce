#!/usr/bin/env bash
# Runs the two Node-based suites against a freshly built plenum binary:
#   1. tests/conformance/  client REST API v2 conformance, every response checked with
#                          @pexip/infinity-api 20.0.0's own validators (node --test)
#   2. tests/browser/      the real @pexip/infinity 20.0.0 SDK in headless Debian chromium
# Idempotent: `npm ci` only when node_modules is missing or older than package-lock.json,
# chromium via apt-get only when /usr/bin/chromium is missing, cargo builds incrementally.
# Exits non-zero if either suite fails (both always run).
#
#   scripts/test-node-suites.sh [conformance|browser]   (default: both)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
ONLY=${1:-all}

log() { printf '\n==> %s\n' "$*"; }

command -v node >/dev/null || { echo "node (>= 20) is required" >&2; exit 2; }
command -v npm >/dev/null || { echo "npm is required" >&2; exit 2; }

npm_deps() {
    local dir=$1 stamp="$1/node_modules/.plenum-lock.sha256"
    local want
    want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
        log "npm ci in ${dir#"$ROOT"/}"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
        echo "$want" >"$stamp"
    fi
}

if [[ $ONLY != browser ]]; then npm_deps "$ROOT/tests/conformance"; fi
if [[ $ONLY != conformance ]]; then
    npm_deps "$ROOT/tests/browser"
    CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}
    if [[ ! -x $CHROMIUM ]]; then
        if [[ $(id -u) -ne 0 ]]; then
            echo "chromium missing at $CHROMIUM; install it as root: apt-get install -y chromium" >&2
            exit 2
        fi
        log "apt-get install chromium"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq chromium >/dev/null
    fi
fi

log "cargo build -p plenum-node --bin plenum"
cargo build -p plenum-node --bin plenum
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
export PLENUM_BIN=${PLENUM_BIN:-$TARGET_DIR/debug/plenum}

status=0
if [[ $ONLY != browser ]]; then
    log "suite 1: client API conformance (tests/conformance)"
    (cd tests/conformance && node run.js) || status=1
fi
if [[ $ONLY != conformance ]]; then
    log "suite 2: @pexip/infinity SDK in chromium (tests/browser)"
    rm -rf "$ROOT/target/browser-artifacts"
    (cd tests/browser && node --test --test-concurrency=1 --test-timeout=180000 test/) || status=1
    echo "browser artifacts: $ROOT/target/browser-artifacts/"
fi

if [[ $status -ne 0 ]]; then log "node suites: FAILED"; else log "node suites: passed"; fi
exit $status
