#!/usr/bin/env bash
# The gHyvi comparison in the kernel (issue 11): boot the test kernel in
# QEMU, load rgvt and run tools/bench/shadow_bench.c, a VFIO guest driver
# with its own VMM that keeps a 4-level PPGTT in guest memory, forwards the
# guest's writes to tracked frames through the tracking region (the trap)
# and runs a checked store-dword workload through the PPGTT per frame. For
# a massive-update trace (every PTE of N PT pages rewritten per frame) and
# a normal one (a few PTEs per frame), under strict and each hybrid policy
# in the same run: traps, PTEs rebuilt, kernel mediation (trap_ns +
# reconstruct_ns), guest-visible time per frame and the ratio to strict;
# then the floor (debugfs shadow_floor: read, translate and write the PT
# pages' entries with no bookkeeping); last, with the region off (nothing
# traps: the workload's tree is compared with guest memory before it), the
# normal trace with the workload's tree alone and with TREES more trees of
# their own pages. A report, not a test: nothing about
# time is asserted (the run fails only if it could not run or a workload's
# result was wrong). Not part of tools/test.sh.
#
# Both shadows run side by side in the same boot, each on its own vGPU,
# round-robin with the policies: "sim", the sim's shadow (a trap and a
# rebuilt PTE each pay one short VFIO pin and unpin of the frame), and
# "pinned", a real GPU's shadow (the module's sim_dma set when its vGPU is
# made: guest pages held pinned and DMA-mapped in the gfn -> DMA books, as
# kvmgt does). Each has its floor row; the pinned floor's translation is a
# lookup in the books (a cache hit: what rebuilding an entry whose frame is
# held costs), the sim's is the short pin.
#
#   tools/bench-shadow.sh [--kvm] [-N PT_PAGES] [-m FRAMES] [-n FRAMES] [-w WRITES] [-r ROUNDS]
#                         [-t TREES] [-s both|sim|pinned]
#
#   --kvm        boot with KVM instead of TCG (TCG inflates every number)
#   -N PAGES     PT pages the massive trace rewrites (default 64)
#   -m FRAMES    measured massive frames per policy (default 6)
#   -n FRAMES    measured normal frames per policy (default 120)
#   -w WRITES    PTE writes per normal frame (default 8)
#   -r ROUNDS    the policies run round-robin, ROUNDS times (default 3), so a
#                change in the host's load falls on all of them alike
#   -t TREES     trees added for the untracked rows (default 4)
#   -s SHADOWS   both (default), sim or pinned
#
# The rows go to build/bench/shadow-kernel.json (tools/figures.sh draws
# them when present): counts and trap_ns/reconstruct_ns are means per frame,
# mediation_ns and guest_ns medians of the frames (QEMU runs at whatever
# speed the host gives it; the means are there too). The console is kept in
# build/bench-shadow/console.log. About 3 minutes with the defaults (TCG).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/lib-qemu.sh
. "$here/lib-qemu.sh"

qemu_args=()
accel=tcg
args=()

while (($#)); do
	case "$1" in
	--kvm) qemu_args+=(--kvm) accel=kvm ;;
	-N | -m | -n | -w | -r | -t | -s) args+=("$1" "${2:?}"); shift ;;
	*) die "usage: $0 [--kvm] [-N PT_PAGES] [-m FRAMES] [-n FRAMES] [-w WRITES] [-r ROUNDS] [-t TREES] [-s both|sim|pinned]" ;;
	esac
	shift
done

work=$RGVT_ROOT/build/bench-shadow
out=$RGVT_ROOT/build/bench
mkdir -p "$work" "$out"
kdir=$("$here/kernel.sh")
module=$(build_module "$kdir")

build_guest_prog "$kdir" "$here/bench/shadow_bench.c" "$work/shadow_bench"

write_guest_env "$work/env" "$module"
{
	echo "export RGVT_ACCEL=$accel"
	echo "export RGVT_BENCH_ARGS=\"${args[*]}\""
} >>"$work/env"
qrc=0
guest_job "$work" "$kdir" "$module" "$here/bench/guest-shadow.sh" \
	"${qemu_args[@]}" --quiet --timeout 1500 -- \
	-f "$work/shadow_bench:/usr/bin/shadow_bench" || qrc=$?

printf '%s\n' "rgvt bench-shadow: kernel $(basename "$kdir"), module $(basename "$module")"
between "$work/console.log" RGVT-BENCH-BEGIN RGVT-BENCH-END | grep -Ev '^\[ *[0-9]+\.[0-9]+\] ' |
	sed '/^RGVT-JSON-BEGIN$/,/^RGVT-JSON-END$/d' || true

status=0
json=$(between "$work/console.log" RGVT-JSON-BEGIN RGVT-JSON-END | grep -Ev '^\[ *[0-9]+\.[0-9]+\] ' || true)
if [[ -n "$json" ]] && python3 -c 'import json,sys; json.loads(sys.stdin.read())' <<<"$json" 2>/dev/null; then
	printf '%s\n' "$json" >"$out/shadow-kernel.json"
	log "wrote $out/shadow-kernel.json"
else
	log "no valid JSON in the console"
	status=1
fi
job_verdict "$work/console.log" "$qrc" benchmark || status=1
exit "$status"
