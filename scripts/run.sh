#!/usr/bin/env bash
# Quick start: installs what is missing, builds plenum (release) and runs the node on the
# shipped configuration (config/): https://127.0.0.1:8443/ with a self-signed certificate.
# Extra arguments go to `plenum serve`, e.g. `scripts/run.sh --config /etc/plenum`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
plenum_require_cargo
plenum_apt_install "${PLENUM_BUILD_PACKAGES[@]}"
cargo build --release --locked -p plenum-node --bin plenum
exec target/release/plenum serve "$@"
