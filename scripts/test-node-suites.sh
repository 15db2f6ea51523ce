#!/usr/bin/env bash
# Runs the two Node-based suites against a freshly built plenum binary:
#   1. tests/conformance/  client REST API v2 conformance, every response checked with
#                          @pexip/infinity-api 20.0.0's own validators (node --test)
#   2. tests/browser/      the real @pexip/infinity 20.0.0 SDK and the web app in headless
#                          Debian Chromium and Firefox ESR
# Idempotent: `npm ci` only when node_modules is missing or older than package-lock.json,
# chromium and firefox-esr via apt-get only when missing, cargo builds incrementally.
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
    # Debian's own browsers (never a downloaded build): Chromium through Playwright,
    # Firefox ESR through WebDriver BiDi (puppeteer-core), WebKitGTK (Safari's engine:
    # MiniBrowser, GStreamer comes with it) through WebKitWebDriver on an Xvfb display.
    CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}
    FIREFOX=${FIREFOX_PATH:-/usr/bin/firefox-esr}
    browsers=()
    [[ -x $CHROMIUM ]] || browsers+=(chromium)
    [[ -x $FIREFOX ]] || browsers+=(firefox-esr)
    webkit=()
    [[ -x ${WEBKIT_DRIVER_PATH:-/usr/bin/WebKitWebDriver} ]] || webkit+=(webkit2gtk-driver)
    [[ -x ${XVFB_PATH:-/usr/bin/Xvfb} ]] || webkit+=(xvfb)
    if [[ ${#webkit[@]} -gt 0 && $(id -u) -ne 0 ]]; then
        # optional: without them test/webapp-webkit.test.js is skipped (with the reason)
        echo "note: ${webkit[*]} missing (apt-get install -y ${webkit[*]} as root); the WebKitGTK test will be skipped" >&2
        webkit=()
    fi
    browsers+=("${webkit[@]}")
    if [[ ${#browsers[@]} -gt 0 ]]; then
        if [[ $(id -u) -ne 0 ]]; then
            echo "missing browsers: ${browsers[*]}; install them as root: apt-get install -y ${browsers[*]}" >&2
            exit 2
        fi
        log "apt-get install ${browsers[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq "${browsers[@]}" >/dev/null
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
    log "suite 2: @pexip/infinity SDK and the web app in chromium and firefox-esr (tests/browser)"
    rm -rf "$ROOT/target/browser-artifacts"
    (cd tests/browser && node --test --test-concurrency=1 --test-timeout=180000 test/) || status=1
    echo "browser artifacts: $ROOT/target/browser-artifacts/"
fi

if [[ $status -ne 0 ]]; then log "node suites: FAILED"; else log "node suites: passed"; fi
exit $status
