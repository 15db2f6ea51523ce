#!/usr/bin/env bash
# Installs what building and running plenum needs on Debian/Ubuntu, idempotently.
# Sourced by run.sh and test.sh; safe to run on its own. Needs root for apt-get.
set -euo pipefail

# Debian packages the build needs: a C compiler (ring, SQLite), pkg-config, and the media
# libraries (Opus, VP8, libyuv for SIMD scaling, OpenH264 for H.264).
PLENUM_BUILD_PACKAGES=(build-essential pkg-config ca-certificates libopus-dev libvpx-dev libyuv-dev libopenh264-dev fonts-dejavu-core)

# Debian packages only the tests need: a real DNS server (dnsmasq) for the discovery tests
# and a real STUN server (coturn's turnserver) for `plenum doctor`'s STUN check.
PLENUM_TEST_PACKAGES=(dnsmasq-base coturn)

plenum_missing_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    printf '%s\n' "${missing[@]}"
}

plenum_apt_install() {
    local missing
    mapfile -t missing < <(plenum_missing_packages "$@" | sed '/^$/d')
    [[ ${#missing[@]} -eq 0 ]] && return 0
    if [[ $EUID -ne 0 ]]; then
        echo "setup: missing packages: ${missing[*]} - install them (sudo apt-get install ${missing[*]}) or run as root" >&2
        return 1
    fi
    echo "setup: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "${missing[@]}" >&2
}

plenum_require_cargo() {
    if ! command -v cargo >/dev/null; then
        echo "setup: cargo not found - install Rust (https://rustup.rs), version 1.95 or later" >&2
        return 1
    fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    plenum_require_cargo
    plenum_apt_install "${PLENUM_BUILD_PACKAGES[@]}"
fi
