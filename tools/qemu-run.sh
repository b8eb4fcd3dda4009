#!/usr/bin/env bash
# Boot a kernel with an initramfs in QEMU and capture its serial console.
#
#   tools/qemu-run.sh [--kvm] [--timeout SECS] [--log FILE] [--quiet]
#                     [--append ARGS] KDIR INITRAMFS
#
#   --kvm         use KVM (-cpu host); default is TCG, since KVM hangs on the
#                 machines rgvt is developed on
#   --timeout S   kill the guest after S seconds (default 600)
#   --log FILE    where the console goes (default build/qemu/console.log)
#   --quiet       do not stream the console to stdout
#   --append A    extra kernel command line
#
# The guest's /init prints "RGVT-GUEST-DONE rc=N" before powering off
# (tools/guest/init.sh). Exit status: N from that line; 124 if the guest hung
# and was killed; 125 if it stopped without the marker (panic, crash).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/lib.sh
. "$here/lib.sh"

accel=(-accel tcg -cpu "qemu64,+svm")
timeout=600
logfile=$here/../build/qemu/console.log
quiet=0
append=

usage() { die "usage: $0 [--kvm] [--timeout SECS] [--log FILE] [--quiet] [--append ARGS] KDIR INITRAMFS"; }

while (($#)); do
	case "$1" in
	--kvm) accel=(-accel kvm -cpu host) ;;
	--timeout) timeout=${2:?}; shift ;;
	--log) logfile=${2:?}; shift ;;
	--quiet) quiet=1 ;;
	--append) append=${2:?}; shift ;;
	-*) usage ;;
	*) break ;;
	esac
	shift
done
(($# == 2)) || usage
kdir=$1
initrd=$2
kernel=$kdir/arch/x86/boot/bzImage
[[ -f "$kernel" ]] || die "no kernel image: $kernel"
[[ -f "$initrd" ]] || die "no initramfs: $initrd"
mkdir -p "$(dirname "$logfile")"

# loglevel=5: the console shows warnings and worse, so kernel chatter does not
# cut into the TAP lines; the guest dumps the whole log (dmesg) at its end.
cmdline="console=ttyS0 panic=-1 oops=panic loglevel=5 rdinit=/init $append"

qemu=(
	qemu-system-x86_64 "${accel[@]}"
	-m 2G -smp 2 -nographic -no-reboot -nic none
	-kernel "$kernel" -initrd "$initrd" -append "$cmdline"
)

# Copy the console to the log (and stdout), without the serial port's CRs,
# and note when /init started: the kernel's own uptime is unreliable under TCG.
capture() {
	local line boot=
	while IFS= read -r line || [[ -n "$line" ]]; do
		line=${line%$'\r'}
		if [[ -z "$boot" && "$line" == RGVT-GUEST-BOOTED* ]]; then
			boot=$EPOCHREALTIME
			echo "$boot" >"$logfile.booted"
		fi
		printf '%s\n' "$line" >&3
		((quiet)) || printf '%s\n' "$line"
	done
}

log "booting $(basename "$kdir") (${accel[*]}), timeout ${timeout}s, log $logfile"
rm -f "$logfile.booted"
t0=$EPOCHREALTIME
set +e
timeout -k 5 "$timeout" "${qemu[@]}" </dev/null 2>&1 | capture 3>"$logfile"
qrc=${PIPESTATUS[0]}
set -e
t1=$EPOCHREALTIME
elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
if [[ -f "$logfile.booted" ]]; then
	boot=$(awk -v a="$t0" -v b="$(cat "$logfile.booted")" 'BEGIN { printf "%.2f", b - a }')
	rm -f "$logfile.booted"
fi

if ((qrc == 124 || qrc == 137)); then
	log "guest timed out after ${timeout}s and was killed (log: $logfile)"
	exit 124
fi
((qrc == 0)) || log "qemu exited with status $qrc"

booted=$(sed -n 's/^RGVT-GUEST-BOOTED uptime=\(.*\)$/\1/p' "$logfile" | head -n1)
done_rc=$(sed -n 's/^RGVT-GUEST-DONE rc=\([0-9]*\)$/\1/p' "$logfile" | tail -n1)
log "guest: /init started ${boot:-?}s after QEMU did (kernel uptime ${booted:-?}), whole run ${elapsed}s"
if [[ -z "$done_rc" ]]; then
	log "guest stopped without finishing its job (panic or crash?): see $logfile"
	exit 125
fi
exit "$done_rc"
