#!/usr/bin/env bash
# Measure what one trapped vGPU access costs from user space, in QEMU: boot
# the test kernel, load rgvt and run tools/bench/trap_cost.c, which times
# 100k trapped GGTT entry writes (pwrite 8 B on BAR0), 100k MMIO register
# writes and 100k 4-byte BAR2 reads, and prints median, p90 and mean per
# operation. A report, not a test: nothing is asserted.
#
#   tools/bench-trap.sh [--kvm] [-n OPS]
#
#   --kvm    boot with KVM instead of TCG (TCG inflates every number)
#   -n OPS   operations of each kind (default 100000)
#
# The whole console is kept in build/bench-trap/console.log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/lib-qemu.sh
. "$here/lib-qemu.sh"

qemu_args=()
accel=tcg
ops=100000

while (($#)); do
	case "$1" in
	--kvm) qemu_args+=(--kvm) accel=kvm ;;
	-n) ops=${2:?}; shift ;;
	*) die "usage: $0 [--kvm] [-n OPS]" ;;
	esac
	shift
done

work=$RGVT_ROOT/build/bench-trap
mkdir -p "$work"
kdir=$("$here/kernel.sh")
module=$(build_module "$kdir")

build_guest_prog "$kdir" "$here/bench/trap_cost.c" "$work/trap_cost"

write_guest_env "$work/env" "$module"
{
	echo "export RGVT_ACCEL=$accel"
	echo "export RGVT_BENCH_ARGS=\"-n $ops\""
} >>"$work/env"
qrc=0
guest_job "$work" "$kdir" "$module" "$here/bench/guest-bench.sh" \
	"${qemu_args[@]}" --quiet --timeout 300 -- \
	-f "$work/trap_cost:/usr/bin/trap_cost" || qrc=$?

printf '%s\n' "rgvt bench-trap: kernel $(basename "$kdir"), module $(basename "$module")"
between "$work/console.log" RGVT-BENCH-BEGIN RGVT-BENCH-END | grep -Ev '^\[ *[0-9]+\.[0-9]+\] ' || true

status=0
job_verdict "$work/console.log" "$qrc" benchmark || status=1
exit "$status"
