#!/usr/bin/env bash
# The nested real-client test: Debian's QEMU on an rgvt vGPU inside the test
# guest, booting a second-level guest with its stock i915 (issue 9).
#
#   tools/run-nested.sh [--l2-append ARGS] [--append ARGS] [--module KO]
#                       [--l2-timeout SECS] [--timeout SECS] [--policy P] [--verbose]
#                       [--engine-rungs required|optional]
#
#   --l2-append A  extra second-level kernel command line (e.g. i915.reset=0,
#                  or i915.modeset=0 to keep i915 off the device)
#   --append A     extra first-level kernel command line (e.g. log_buf_len=8M)
#   --module KO    test this module instead of building rgvt.ko
#   --l2-timeout S how long the second-level guest may take to finish its
#                  checks (the i915 probe runs first; default 180; it
#                  took 8 s with i915.modeset=0)
#   --policy P     the shadow policy (/sys/kernel/rgvt/policy) while the
#                  second-level guest boots and runs l2i915's first checks
#                  (its phases then set each policy in turn); the
#                  write-tracking counters are printed either way
#   --verbose      stream the console (default: only the rungs at the end)
#   --timeout S    kill the test guest after S seconds (default 1500)
#   --engine-rungs R  whether the rungs of rgvt's engines under the stock
#                  i915 (ENGINE_RUNGS: i915-not-wedged, l2-store-dword,
#                  l2-blit-copy, and l2i915's phases: l2-rebind-<policy>,
#                  kvm-traps-strict, kvm-traps-segmented-lower) count:
#                  "required" (the default: a failure
#                  fails the run) or "optional" (printed, a failure counts
#                  as skipped: for a module without working engines)
#
# The test guest (TCG, -cpu qemu64,+svm as qemu-run.sh always gives it, so
# /dev/kvm works inside through kvm-amd; 2 GB) gets Debian's
# qemu-system-x86_64 with the libraries ldd lists, SeaBIOS and the option
# ROMs it loads, mdevctl, the cached test kernel as the second-level kernel
# and a second-level initramfs (busybox, tools/nested/l2-init.sh,
# tools/nested/l2bars.c, tools/nested/l2i915.c). The guest job is
# tools/nested/guest-nested.sh.
#
# Prints every rung, "RGVT-NESTED-RUNG <name> ok|FAIL", adds the splat scans
# of both kernels' logs, and ends with "nested: N passed, N failed, N
# skipped"; exits non-zero if a rung failed. A rung that is missing from the
# log (the guest died or hung before it) counts as failed.
# Everything is kept in build/nested/ (console.log is the whole log; lines
# of the second-level console start with "L2| ", of the TCG run "L2-TCG| ").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/lib-qemu.sh
. "$here/lib-qemu.sh"

l2_append=
policy=
l2_timeout=180
verbose=0
l1_append=
module=
timeout=1500
engine_rungs=required

usage() { die "usage: $0 [--l2-append ARGS] [--append ARGS] [--module KO] [--l2-timeout SECS] [--timeout SECS] [--policy P] [--verbose] [--engine-rungs required|optional]"; }

while (($#)); do
	case "$1" in
	--l2-append) l2_append=${2?}; shift ;;
	--policy) policy=${2?}; shift ;;
	--append) l1_append=${2?}; shift ;;
	--l2-timeout) l2_timeout=${2:?}; shift ;;
	--verbose) verbose=1 ;;
	--module) module=$(realpath "${2:?}"); shift ;;
	--timeout) timeout=${2:?}; shift ;;
	--engine-rungs)
		engine_rungs=${2:?}
		[[ "$engine_rungs" == required || "$engine_rungs" == optional ]] || usage
		shift
		;;
	*) usage ;;
	esac
	shift
done

# The guest's rungs, in order; the host adds the last three.
RUNGS=(module-load mdevctl-types mdevctl-start mdevctl-list mdevctl-stop vgpu-create
	qemu-tcg-realize qemu-kvm-realize l2-pci-id i915-vgpu-detected i915-balloon
	i915-probe-done i915-not-wedged l2-store-dword l2-blit-copy
	l2-rebind-strict l2-rebind-full l2-rebind-static l2-rebind-dynamic l2-rebind-segmented
	l2-rebind-switching kvm-traps-strict kvm-traps-segmented-lower l2-bars counters-moved
	req-unplug-request remove-released vgpu-gone module-unload
	guest-job l1-no-splats l2-no-splats)
# rgvt's engines under the stock i915 (issue 10): required or not (--engine-rungs).
ENGINE_RUNGS=(i915-not-wedged l2-store-dword l2-blit-copy l2-rebind-strict l2-rebind-full
	l2-rebind-static l2-rebind-dynamic l2-rebind-segmented l2-rebind-switching
	kvm-traps-strict kvm-traps-segmented-lower)

start=$SECONDS
work=$RGVT_ROOT/build/nested
mkdir -p "$work"

kdir=$("$here/kernel.sh")
[[ -n "$module" ]] || module=$(build_module "$kdir")
[[ -f "$module" ]] || die "no module: $module"

# bin_files BIN DST: -f arguments for BIN at DST and every library ldd lists,
# each at its own path (the guest has no C library of its own).
bin_files() {
	local bin=$1 dst=$2 lib
	printf '%s\n' -f "$bin:$dst"
	while read -r lib; do
		printf '%s\n' -f "$lib:$lib"
	done < <(ldd "$bin" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' | sort -u)
}

# The firmware QEMU loads for a PC with -kernel and no VGA or NIC (-L dir).
QEMU_FW=(/usr/share/seabios/bios-256k.bin /usr/share/qemu/linuxboot_dma.bin
	/usr/share/qemu/kvmvapic.bin)

QEMU_TCG_MODULE=/usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so

build_l2() {
	log "building l2bars, l2i915 (static) and the second-level initramfs"
	gcc -static -O2 -Wall -Wextra -Werror -I"$RGVT_ROOT/include/uapi" \
		-o "$work/l2bars" "$here/nested/l2bars.c" || die "l2bars build failed"
	# i915's uAPI header from the test kernel's own source (no libdrm needed;
	# __user is the one kernel-only word in it).
	gcc -static -O2 -Wall -Wextra -Werror -D__user= -idirafter "$kdir/source/include/uapi" \
		-o "$work/l2i915" "$here/nested/l2i915.c" || die "l2i915 build failed"
	"$here/initramfs.sh" -o "$work/l2-initrd.gz" -i "$here/nested/l2-init.sh" \
		-f "$work/l2bars:/usr/bin/l2bars" -f "$work/l2i915:/usr/bin/l2i915"
}

command -v qemu-system-x86_64 >/dev/null || die "no qemu-system-x86_64 (tools/setup.sh installs it)"
command -v mdevctl >/dev/null || die "no mdevctl (tools/setup.sh installs it)"
[[ -f "$QEMU_TCG_MODULE" ]] || die "no $QEMU_TCG_MODULE (package qemu-system-x86)"
build_l2
files=()
mapfile -t -O 0 files < <(
	bin_files "$(command -v qemu-system-x86_64)" /usr/bin/qemu-system-x86_64
	bin_files "$(command -v mdevctl)" /usr/bin/mdevctl
	# QEMU loads its TCG accelerator as a module.
	bin_files "$QEMU_TCG_MODULE" "$QEMU_TCG_MODULE"
)
for fw in "${QEMU_FW[@]}"; do
	[[ -f "$fw" ]] || die "missing QEMU firmware $fw"
	files+=(-f "$fw:/usr/share/qemu/$(basename "$fw")")
done
files+=(-f "$kdir/arch/x86/boot/bzImage:/nested/bzImage" -f "$work/l2-initrd.gz:/nested/initrd.gz")
# The direct side of the submission cost (a user-space driver through VFIO
# in the test guest), printed next to the nested one: not a rung.
log "building rgvt_engine (the direct measure)"
make -s -C "$RGVT_ROOT/selftests/rgvt" KSFT_DIR="$kdir/source/tools/testing/selftests" \
	OUTPUT="$work/bin" "$work/bin/rgvt_engine" >&2 || die "rgvt_engine build failed"
files+=(-f "$work/bin/rgvt_engine:/usr/bin/rgvt_engine")

write_guest_env "$work/env" "$module"
{
	printf 'export NESTED_L2_APPEND=%q\n' "$l2_append"
	printf 'export NESTED_L2_TIMEOUT=%q\n' "$l2_timeout"
	printf 'export NESTED_POLICY=%q\n' "$policy"
} >>"$work/env"

qargs=(--timeout "$timeout")
((verbose)) || qargs+=(--quiet)
[[ -z "$l1_append" ]] || qargs+=(--append "$l1_append")
log "prepared in $((SECONDS - start)) s; module $(basename "$module")"
qrc=0
guest_job "$work" "$kdir" "$module" "$here/nested/guest-nested.sh" "${qargs[@]}" -- \
	"${files[@]}" || qrc=$?

# --- verdict ---------------------------------------------------------------
logf=$work/console.log
# The two kernels' logs, told apart by the prefix the guest job adds.
grep -v '^L2\(-TCG\|-MON\)\?| ' "$logf" >"$work/l1.log" || true
sed -n 's/^L2\(-TCG\)\?| //p' "$logf" >"$work/l2.log" || true

declare -A result
while read -r name res; do
	result[$name]=$res
done < <(sed -n 's/^RGVT-NESTED-RUNG \([^ ]*\) \(ok\|FAIL\).*/\1 \2/p' "$logf")
if ((qrc == 0)) && grep -q '^RGVT-NESTED-END' "$logf"; then
	result[guest-job]=ok
else
	result[guest-job]=FAIL
	log "the guest job did not finish cleanly (status $qrc)"
fi
for k in l1 l2; do
	if splats=$(scan_splats "$work/$k.log"); then
		result[$k-no-splats]=ok
	else
		result[$k-no-splats]=FAIL
		log "the ${k^^} kernel log has splats:"
		printf '%s\n' "$splats" | head -n 30 >&2
	fi
done

# Why, in short: timings and what QEMU said about the vGPU.
grep -E '^# nested:|^# QEMU exited|^L2\| qemu-system-x86_64:|^L2\| .*\*ERROR\*' "$logf" >&2 || true
# One submission, direct (rgvt_engine through VFIO in the test guest) and
# nested (the stock i915 in the second-level guest), side by side.
grep -E '^# submission cost|^# direct: |^L2\| RGVT-L2-INFO nested: ' "$logf" | sed 's/^L2| RGVT-L2-INFO /# /' >&2 || true
# l2i915's phases (issue 11): the policy of each, and the nested benchmark
# row per policy (KVM traps, PTEs rebuilt, mediation ns in rgvt, the time
# l2i915 saw), with ratios to strict. Informational: nothing asserted.
grep -E '^# phase |^RGVT-L2-INFO bench' "$logf" >&2 || true

is_optional() {
	local e
	[[ "$engine_rungs" == optional ]] || return 1
	for e in "${ENGINE_RUNGS[@]}"; do [[ "$e" == "$1" ]] && return 0; done
	return 1
}
# What l2i915 and the not-wedged check said (values, times, why it failed).
grep -E '^L2\| (RGVT-L2-CHECK (not-wedged|store-dword|blit-copy|rebind-)|RGVT-L2-INFO (i915_wedged|dmesg|l2i915)|l2i915:)' \
	"$logf" >&2 || true

passed=0 failed=0 skipped=0
for r in "${RUNGS[@]}"; do
	case ${result[$r]:-} in
	ok) passed=$((passed + 1)) res=ok ;;
	FAIL) res=FAIL ;;
	*) res="FAIL (never reached)" ;;
	esac
	if [[ "$res" != ok ]]; then
		if is_optional "$r"; then
			skipped=$((skipped + 1)) res="$res (optional: --engine-rungs optional)"
		else
			failed=$((failed + 1))
		fi
	fi
	echo "RGVT-NESTED-RUNG $r $res"
done
log "nested stage took $((SECONDS - start)) s (log: $logf)"
echo "nested: $passed passed, $failed failed, $skipped skipped"
((failed == 0))
