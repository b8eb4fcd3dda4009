# Shared by tools/*.sh: cache locations and small helpers. Sourced, not run.
# shellcheck shell=bash
RGVT_CACHE=${RGVT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rgvt}
BINDGEN=$RGVT_CACHE/bindgen/bin/bindgen
# The kernel's Rust must be built by the rustc whose core sources are installed
# (Debian's rustc-web); the rustup toolchain on PATH has no rust-src.
KMAKE_RUST=(RUSTC=/usr/bin/rustc HOSTRUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc BINDGEN="$BINDGEN")
mkdir -p "$RGVT_CACHE"

log() { printf '[rgvt %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
