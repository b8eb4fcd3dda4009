#!/usr/bin/env bash
# Build (or reuse) the rgvt test kernel and print its build directory (KDIR).
#
#   tools/kernel.sh [--debug]
#
# The tree is configured from tinyconfig plus tools/kconfig/base.config
# (and debug.config with --debug), built out of tree (O=) under $RGVT_CACHE,
# keyed by a hash of the kernel version, the toolchain versions and the config
# fragments. A matching, finished build is reused as it is.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.env"
. "$here/lib.sh"

variant=base
fragments=("$here/kconfig/base.config")
case "${1:-}" in
--debug) variant=debug; fragments+=("$here/kconfig/debug.config") ;;
"") ;;
*) die "usage: $0 [--debug]" ;;
esac

# A later fragment overrides an earlier one option by option, as
# merge_config.sh merges them: resolve them into one fragment in which each
# option keeps its last line only, so that the olddefconfig check below holds
# each option to the value the variant wants (debug.config switches
# base.config's iommufd container to the legacy one). The base variant has
# one fragment and keeps it as it is (and so its cache key).
if ((${#fragments[@]} > 1)); then
	resolved=$(mktemp)
	trap 'rm -f "$resolved"' EXIT
	awk '
		function opt(line) {
			if (line ~ /^CONFIG_[A-Za-z0-9_]+=/)
				return substr(line, 1, index(line, "=") - 1)
			if (line ~ /^# CONFIG_[A-Za-z0-9_]+ is not set$/)
				return substr(line, 3, length(line) - 13)
			return ""
		}
		{ lines[NR] = $0; o = opt($0); if (o != "") last[o] = NR }
		END {
			for (i = 1; i <= NR; i++) {
				o = opt(lines[i])
				if (o == "" || last[o] == i)
					print lines[i]
			}
		}
	' "${fragments[@]}" >"$resolved"
	fragments=("$resolved")
fi

"$here/setup.sh" >&2

src=$RGVT_CACHE/src/linux-$KERNEL_PKG_VERSION
if [[ ! -f "$src/.rgvt-extracted" ]]; then
	log "extracting $KERNEL_TARBALL"
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	tar -xJf "$KERNEL_TARBALL" -C "$src.tmp" --strip-components=1
	touch "$src.tmp/.rgvt-extracted"
	mv "$src.tmp" "$src"
fi

# The debug variant is built by LLVM (LLVM_MAJOR, the LLVM of rustc-web): in
# 6.12 Rust and KASAN go together only in a clang-built kernel ("depends on
# !KASAN || CC_IS_CLANG"). bindgen then loads the same major's libclang, so
# that it understands every flag clang is given. The base variant stays a GCC
# build with the defaults (and its cache key); rgvt's Makefile reads the
# compiler from the tree's .config and builds the module the same way.
llvm=()
if [[ $variant == debug ]]; then
	llvm=(LLVM=-"$LLVM_MAJOR")
	KMAKE_RUST+=("${llvm[@]}")
	export LIBCLANG_PATH=/usr/lib/llvm-$LLVM_MAJOR/lib
fi

key=$({
	echo "$KERNEL_PKG_VERSION"
	/usr/bin/rustc --version
	"$BINDGEN" --version
	gcc --version | head -n1
	clang --version | head -n1
	((${#llvm[@]} == 0)) || { "clang-$LLVM_MAJOR" --version | head -n1; echo "${llvm[*]}"; }
	cat "${fragments[@]}"
	sed -n '/^# --- build recipe ---$/,$p' "$0"
} | sha256sum | cut -c1-16)
out=$RGVT_CACHE/kernel/$variant-$key

if [[ -f "$out/.rgvt-built" ]]; then
	log "kernel cache hit: $out"
	echo "$out"
	exit 0
fi

# --- build recipe ---
log "building $variant kernel into $out (cache miss)"
rm -rf "$out"
mkdir -p "$out"
kmake() { make -C "$src" O="$out" "${KMAKE_RUST[@]}" "$@"; }
kmake -s tinyconfig >&2
"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "${fragments[@]}" >/dev/null
kmake -s olddefconfig >&2

# Some options silently drop out when a dependency is missing: fail loudly.
lost=0
for f in "${fragments[@]}"; do
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) want=$line ;;
		"# CONFIG_"*" is not set")
			# "Not set" also holds when the option is hidden altogether.
			opt=${line#\# }
			opt=${opt%% *}
			grep -q "^$opt=" "$out/.config" || continue
			want=$line
			;;
		*) continue ;;
		esac
		if ! grep -qxF "$want" "$out/.config"; then
			opt=${want#\# }
			opt=${opt%%[= ]*}
			log "config option lost by olddefconfig: '$want' (have: '$(grep -E "^(# )?$opt[= ]" "$out/.config" || echo unset)')"
			lost=1
		fi
	done <"$f"
done
((lost == 0)) || die "kernel config fragment did not survive olddefconfig"

kmake rustavailable >&2
start=$SECONDS
kmake -j"$(nproc)" bzImage modules >"$out/build.log" 2>&1 ||
	{ tail -n 40 "$out/build.log" >&2; die "kernel build failed (log: $out/build.log)"; }
log "kernel built in $((SECONDS - start)) s"
touch "$out/.rgvt-built"
# Older builds of this variant are dead weight: keep only the newest.
find "$RGVT_CACHE/kernel" -maxdepth 1 -name "$variant-*" ! -path "$out" -exec rm -rf {} +
echo "$out"
