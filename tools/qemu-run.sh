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

log "booting $(basename "$kdir") (${accel[*]}), timeout ${timeout}s, log $logfile"
start=$SECONDS
# Serial output has CRLF line ends; keep the log plain text.
set +e
if ((quiet)); then
	timeout -k 5 "$timeout" "${qemu[@]}" </dev/null 2>&1 | sed -u 's/\r$//' >"$logfile"
else
	timeout -k 5 "$timeout" "${qemu[@]}" </dev/null 2>&1 | sed -u 's/\r$//' | tee "$logfile"
fi
qrc=${PIPESTATUS[0]}
set -e
elapsed=$((SECONDS - start))

if ((qrc == 124 || qrc == 137)); then
	log "guest timed out after ${timeout}s and was killed (log: $logfile)"
	exit 124
fi
((qrc == 0)) || log "qemu exited with status $qrc"

booted=$(sed -n 's/^RGVT-GUEST-BOOTED uptime=\(.*\)$/\1/p' "$logfile" | head -n1)
done_rc=$(sed -n 's/^RGVT-GUEST-DONE rc=\([0-9]*\)$/\1/p' "$logfile" | tail -n1)
log "guest: init after ${booted:-?} of kernel uptime, whole run ${elapsed}s"
if [[ -z "$done_rc" ]]; then
	log "guest stopped without finishing its job (panic or crash?): see $logfile"
	exit 125
fi
exit "$done_rc"
