#!/usr/bin/env bash
# gBalloon's comparison in the kernel, on rgvt's sim engines, in QEMU: boot
# the test kernel, load rgvt and run tools/bench/gm_kernel.c, which starts
# 15 guest drivers (processes, each with its own rgvt-S_32 vGPU through
# VFIO) with small and growing working sets in high GM, in three
# configurations one after the other (static 384 MB, static 1024 MB,
# ballooning), then the largest number of vGPUs (8, 15, 32, 48, 64) that
# submit at once with correct results. A report, not a test: nothing is
# asserted, and it is not part of tools/test.sh (about 5 minutes under TCG).
#
#   tools/bench-gm.sh [--kvm] [-t SECS] [-n GUESTS] [-g GROWING] [--no-scale]
#
#   --kvm        boot with KVM instead of TCG
#   -t SECS      seconds per configuration (default 20)
#   -n GUESTS    guests (default 15), -g GROWING of them growing (default 3)
#   --no-scale   skip the scale test
#
# Prints the tables; writes build/bench/gm-kernel.json (or $RGVT_BENCH_OUT)
# for tools/figures.sh. The whole console is kept in build/bench-gm/console.log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/lib-qemu.sh
. "$here/lib-qemu.sh"

qemu_args=()
accel=tcg
args=()
timeout=1500

while (($#)); do
	case "$1" in
	--kvm) qemu_args+=(--kvm) accel=kvm ;;
	-t | -n | -g) args+=("$1" "${2:?}"); shift ;;
	--no-scale) args+=("$1") ;;
	--timeout) timeout=${2:?}; shift ;;
	*) die "usage: $0 [--kvm] [-t SECS] [-n GUESTS] [-g GROWING] [--no-scale] [--timeout SECS]" ;;
	esac
	shift
done

work=$RGVT_ROOT/build/bench-gm
out=${RGVT_BENCH_OUT:-$RGVT_ROOT/build/bench/gm-kernel.json}
mkdir -p "$work" "$(dirname "$out")"
kdir=$("$here/kernel.sh")
module=$(build_module "$kdir")

build_guest_prog "$kdir" "$here/bench/gm_kernel.c" "$work/gm_kernel"

write_guest_env "$work/env" "$module"
{
	echo "export RGVT_ACCEL=$accel"
	echo "export RGVT_BENCH_PROG=gm_kernel"
	echo "export RGVT_BENCH_ARGS=\"${args[*]}\""
} >>"$work/env"
qrc=0
guest_job "$work" "$kdir" "$module" "$here/bench/guest-bench.sh" \
	"${qemu_args[@]}" --quiet --timeout "$timeout" -- \
	-f "$work/gm_kernel:/usr/bin/gm_kernel" || qrc=$?

printf '%s\n' "rgvt bench-gm: kernel $(basename "$kdir"), module $(basename "$module"), $accel, commit $(git -C "$RGVT_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
between "$work/console.log" RGVT-BENCH-BEGIN RGVT-BENCH-END |
	grep -Ev '^\[ *[0-9]+\.[0-9]+\] |^RGVT-GM-JSON ' || true

json=$(between "$work/console.log" RGVT-BENCH-BEGIN RGVT-BENCH-END | sed -n 's/^RGVT-GM-JSON //p' | tail -n 1)
status=0
if [[ -n "$json" ]]; then
	commit=$(git -C "$RGVT_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
	printf '{"bench":"gm-kernel","accel":"%s","commit":"%s","unix_time":%s,"result":%s}\n' \
		"$accel" "$commit" "$(date +%s)" "$json" >"$out"
	log "wrote $out"
else
	log "no results in the log"
	status=1
fi
job_verdict "$work/console.log" "$qrc" benchmark || status=1
exit "$status"
