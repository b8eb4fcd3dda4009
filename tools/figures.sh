#!/usr/bin/env bash
# The benchmarks' figures in one command: runs the core's benchmarks
# (`cargo bench -p rgvt-core --bench shadow` and `--bench gm`), which print
# their tables and write build/bench/shadow.json and gm.json, then draws them
# as SVG with tools/figures (plotters) into Documentation/rgvt/figures/, with
# made.rst saying when, from which commit and by which command. The in-kernel
# runs' build/bench/shadow-kernel.json (tools/bench-shadow.sh) and
# build/bench/gm-kernel.json (tools/bench-gm.sh), both in QEMU and not run
# from here, are drawn too when they exist, as shadow-kernel.svg and
# gm-kernel.svg (each footer names its own run).
#
#   tools/figures.sh [--no-bench] [OUT_DIR]
#
#   --no-bench   draw the last results in build/bench/ again
#   OUT_DIR      where the SVGs go (default Documentation/rgvt/figures)
#
# Host-only: no kernel, no QEMU. About a minute on 2 idle cores (the gm
# bench's sweep runs 33 models).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=tools/lib.sh
. "$here/lib.sh"

bench=1
out=$root/Documentation/rgvt/figures
while (($#)); do
	case "$1" in
	--no-bench) bench=0 ;;
	-*) die "usage: $0 [--no-bench] [OUT_DIR]" ;;
	*) out=$(realpath -m "$1") ;;
	esac
	shift
done

results=$root/build/bench
# The tree as it is before the figures are rewritten ("-dirty": uncommitted changes).
commit=$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)
when=$(date -u '+%Y-%m-%d %H:%M UTC')
if ((bench)); then
	for b in shadow gm; do
		log "cargo bench -p rgvt-core --bench $b"
		RGVT_BENCH_OUT=$results cargo bench -q -p rgvt-core --bench "$b" \
			--manifest-path "$root/Cargo.toml" || die "cargo bench --bench $b failed"
	done
fi
log "drawing $results/*.json into $out"
cargo run -q --release -p rgvt-figures --manifest-path "$root/Cargo.toml" -- "$results" "$out"

cat >"$out/made.rst" <<RST
.. SPDX-License-Identifier: GPL-2.0

Made on $when from commit \`\`$commit\`\` by \`\`tools/figures.sh\`\`
($( ((bench)) && echo "the benchmarks run then" || echo "the results already in build/bench/"); the
results themselves are \`\`build/bench/shadow.json\`\` and \`\`gm.json\`\`).
RST
if [[ -f "$results/gm-kernel.json" ]]; then
	log "wrote $out/shadow.svg, gm.svg, gm-kernel.svg and made.rst"
else
	log "wrote $out/shadow.svg, gm.svg and made.rst (no gm-kernel.json: tools/bench-gm.sh makes it)"
fi
