#!/usr/bin/env bash
# The rgvt demo: boot the test kernel in QEMU, load rgvt, create vGPUs of
# several types, show the types, the vGPUs and the tunables, remove them
# and unload. Prints what the guest did; the whole console is kept in
# build/demo/console.log.
#
#   tools/demo.sh [--kvm] [--module KO [--parent NAME]]
#
#   --kvm          boot with KVM instead of TCG
#   --module KO    demo this module instead of building rgvt.ko
#   --parent NAME  its mdev parent device (default: sim0 for rgvt)
#
# The guest side is tools/demo/guest-demo.sh: add steps there as features land.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/lib-qemu.sh
. "$here/lib-qemu.sh"

qemu_args=()
module=
parent=

while (($#)); do
	case "$1" in
	--kvm) qemu_args+=(--kvm) ;;
	--module) module=$(realpath "${2:?}"); shift ;;
	--parent) parent=${2:?}; shift ;;
	*) die "usage: $0 [--kvm] [--module KO [--parent NAME]]" ;;
	esac
	shift
done

work=$RGVT_ROOT/build/demo
mkdir -p "$work"
kdir=$("$here/kernel.sh")
[[ -n "$module" ]] || module=$(build_module "$kdir")
write_guest_env "$work/env" "$module" "$parent"
"$here/initramfs.sh" -o "$work/initramfs.cpio.gz" -i "$here/guest/init.sh" \
	"${GUEST_FILES[@]}" \
	-f "$here/demo/guest-demo.sh:/etc/rgvt/job.sh" \
	-f "$work/env:/etc/rgvt/env" \
	-f "$module:/lib/modules/$(basename "$module")"

qrc=0
"$here/qemu-run.sh" "${qemu_args[@]}" --quiet --timeout 300 --log "$work/console.log" \
	"$kdir" "$work/initramfs.cpio.gz" || qrc=$?

printf '%s\n' "rgvt demo: kernel $(basename "$kdir"), module $(basename "$module")"
# The demo's own output, without the kernel messages that land in between.
between "$work/console.log" RGVT-DEMO-BEGIN RGVT-DEMO-END | grep -Ev '^\[ *[0-9]+\.[0-9]+\] ' || true

status=0
if splats=$(scan_splats "$work/console.log"); then :; else
	log "the kernel log has splats:"
	printf '%s\n' "$splats" | head -n 40 >&2
	status=1
fi
if ((qrc != 0)); then
	log "the demo failed (guest status $qrc; log: $work/console.log)"
	status=1
fi
exit "$status"
