#!/usr/bin/env bash
# Install everything rgvt's build and tests need on a fresh Debian 12 machine.
# Idempotent: packages already at the pinned version and a cached bindgen are left alone.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/versions.env
. "$here/versions.env"
. "$here/lib.sh"

pkgs=(
	"$KERNEL_PKG=$KERNEL_PKG_VERSION"
	"rustc-web=$RUSTC_PKG_VERSION"
	"rust-web-src=$RUSTC_PKG_VERSION"
	"libstd-rust-web-dev=$RUSTC_PKG_VERSION"
	"libstd-rust-web-1.85=$RUSTC_PKG_VERSION"
	"rust-web-clippy=$RUSTC_PKG_VERSION"
	"clang=$CLANG_PKG_VERSION"
	"libclang-dev=$CLANG_PKG_VERSION"
	# The debug kernel (KASAN) and rgvt.ko against it: LLVM=-$LLVM_MAJOR.
	"clang-$LLVM_MAJOR=$LLVM_PKG_VERSION"
	"lld-$LLVM_MAJOR=$LLVM_PKG_VERSION"
	"llvm-$LLVM_MAJOR=$LLVM_PKG_VERSION"
	"libclang1-$LLVM_MAJOR=$LLVM_PKG_VERSION"
	gcc make flex bison bc libelf-dev libssl-dev cpio kmod xz-utils
	busybox-static qemu-system-x86
	# The nested test (tools/run-nested.sh) copies mdevctl into the test guest.
	mdevctl
	# The kselftests are linked statically (libc.a) against the uapi headers.
	libc6-dev linux-libc-dev
	# rgvtctl's test of `rgvtctl top` drives it in a tmux pane.
	tmux
)

missing=()
for p in "${pkgs[@]}"; do
	name=${p%%=*}
	want=${p#*=}
	have=$(dpkg-query -W -f='${Status} ${Version}' "$name" 2>/dev/null || true)
	if [[ "$have" != "install ok installed"* ]]; then
		missing+=("$p")
	elif [[ "$p" == *=* && "$have" != *" $want" ]]; then
		missing+=("$p")
	fi
done
if ((${#missing[@]})); then
	log "apt: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends --allow-downgrades "${missing[@]}" >/dev/null
fi

if [[ ! -x "$BINDGEN" ]]; then
	log "cargo: installing bindgen-cli $BINDGEN_VERSION into $RGVT_CACHE/bindgen"
	cargo install bindgen-cli --version "$BINDGEN_VERSION" --locked --root "$RGVT_CACHE/bindgen" -q
fi
"$BINDGEN" --version >/dev/null
log "toolchain ready: $(/usr/bin/rustc --version), $("$BINDGEN" --version)"
