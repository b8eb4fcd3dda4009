#!/usr/bin/env bash
# Run rgvt's kselftests inside QEMU and judge the run.
#
#   tools/run-kselftests.sh [--debug] [--kvm] [--module KO [--parent NAME]]
#                           [--extra-module KO]... [--timeout SECS]
#                           [--order PASSES] [--seed N] [--tests LIST]
#
#   --debug        the debug kernel (kmemleak, lockdep, SLUB debug, KFENCE)
#   --kvm          boot with KVM instead of TCG
#   --module KO    test this module instead of building rgvt.ko (e.g. the kernel
#                  tree's samples/vfio-mdev/mtty.ko as a stand-in); --parent
#                  names its mdev parent device (default: the module's name)
#   --extra-module KO  also load KO after the module, before the tests (a test
#                  helper or fault-injection module)
#   --timeout S    kill the guest after S seconds (default 900)
#   --order PASSES the passes over the test programs, comma-separated, each
#                  ORDER[:CONTAINER] (tools/guest/kselftests.sh): ORDER is
#                  forward (the Makefile's), reverse, shuffle (the module
#                  loaded first) or alone (reverse, from a system without the
#                  module: each program loads and unloads it); CONTAINER is
#                  vfio (/dev/vfio/vfio) or iommu (/dev/iommu). Default
#                  forward:iommu,alone:vfio: both orders, both containers
#                  (iommufd, then type1 on the debug kernel: lockdep stops
#                  at its first report, so the iommufd pass goes first).
#   --seed N       the seed of the shuffle order (default: random, printed)
#   --tests LIST   only these test programs (comma-separated, e.g.
#                  rgvt_fault,rgvt_unload), in the Makefile's order
#
# Builds the kernel (cached), rgvt.ko, the selftests (static) and an initramfs,
# boots, runs every test with the kernel's kselftest runner (TAP on the
# console), then prints "kselftest: N passed, N failed, N skipped". Fails if a
# test failed, a test program left the system changed (module, vGPUs,
# tunables), the module did not load or unload, the guest hung or died, or
# the kernel log has a splat (BUG, WARNING, lockdep, kmemleak, ...).
# Everything is kept in build/kselftest[-debug]/ (console.log is the whole log).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/lib-qemu.sh
. "$here/lib-qemu.sh"

debug=()
variant=kselftest
qemu_args=()
module=
parent=
extra=()
timeout=900
order=forward:iommu,alone:vfio
seed=
tests=

usage() { die "usage: $0 [--debug] [--kvm] [--module KO [--parent NAME]] [--extra-module KO]... [--timeout SECS] [--order PASSES] [--seed N] [--tests LIST]"; }

while (($#)); do
	case "$1" in
	--debug) debug=(--debug) variant=kselftest-debug ;;
	--kvm) qemu_args+=(--kvm) ;;
	--module) module=$(realpath "${2:?}"); shift ;;
	--parent) parent=${2:?}; shift ;;
	--extra-module) extra+=("$(realpath "${2:?}")"); shift ;;
	--timeout) timeout=${2:?}; shift ;;
	--order) order=${2:?}; shift ;;
	--seed) seed=${2:?}; shift ;;
	--tests) tests=${2:?}; shift ;;
	*) usage ;;
	esac
	shift
done

start=$SECONDS
work=$RGVT_ROOT/build/$variant
stage=$work/stage
rm -rf "$stage"
mkdir -p "$stage/rgvt" "$stage/kselftest"

kdir=$("$here/kernel.sh" "${debug[@]}")
[[ -n "$module" ]] || module=$(build_module "$kdir")
[[ -f "$module" ]] || die "no module: $module"

# The selftests, built with the kernel source's kselftest lib.mk, installed
# the way kselftest_install.sh lays them out.
build_selftests() {
	local ksft=$kdir/source/tools/testing/selftests
	local mk=(make -s -C "$RGVT_ROOT/selftests/rgvt" KSFT_DIR="$ksft" OUTPUT="$work/bin")
	mkdir -p "$work/bin"
	log "building selftests"
	"${mk[@]}" >&2 || die "selftest build failed"
	"${mk[@]}" emit_tests COLLECTION=rgvt >"$stage/kselftest-list.txt"
	if [[ -n "$tests" ]]; then
		local want
		for want in ${tests//,/ }; do
			grep -qxF "rgvt:$want" "$stage/kselftest-list.txt" ||
				die "--tests: no test program $want"
		done
		grep -xF -f <(tr ',' '\n' <<<"$tests" | sed 's/^/rgvt:/') \
			"$stage/kselftest-list.txt" >"$stage/list.tmp"
		mv "$stage/list.tmp" "$stage/kselftest-list.txt"
	fi
	local t
	while IFS= read -r t; do
		cp "$work/bin/$t" "$stage/rgvt/"
	done < <(sed -n 's/^rgvt://p' "$stage/kselftest-list.txt")
	cp "$RGVT_ROOT/selftests/rgvt/settings" "$RGVT_ROOT/selftests/rgvt/config" "$stage/rgvt/"
	cp "$ksft/kselftest/runner.sh" "$ksft/kselftest/ktap_helpers.sh" "$stage/kselftest/"
}

write_env() {
	local ko
	write_guest_env "$work/env" "$module" "$parent"
	for ko in "${extra[@]}"; do
		echo "export RGVT_EXTRA_KOS=\"\${RGVT_EXTRA_KOS:-}/lib/modules/extra/$(basename "$ko") \"" >>"$work/env"
	done
	echo "export RGVT_KSELFTEST_ORDER=$order" >>"$work/env"
	[[ -z "$seed" ]] || echo "export RGVT_KSELFTEST_SEED=$seed" >>"$work/env"
}

# Count results from the TAP in the log: each harness test case (nested
# "# ok N name" lines) counts once; a test program that failed or was killed
# without a failing case of its own counts as one failure, and so does one
# that left the system changed (RGVT-LEFT-CHANGED).
summarize_tap() {
	between "$1" "RGVT-GUEST-BOOTED" "RGVT-KSELFTEST-END" | awk '
		function finish_program(line, failed_prog, skipped_prog) {
			failed_prog = line ~ /^not ok/
			skipped_prog = line ~ /# SKIP/
			if (failed_prog && !sub_fail) {
				fail++
				failures = failures "\n  " line
			} else if (!sub_total) {
				if (skipped_prog) skip++
				else if (!failed_prog) pass++
			}
			programs++
			sub_total = sub_fail = 0
		}
		/^1\.\.[0-9]+$/ { planned = substr($0, 4) + 0 }
		/^# (not )?ok [0-9]+ / {
			sub_total++
			if ($0 ~ /^# not ok/) {
				fail++; sub_fail++
				failures = failures "\n  " substr($0, 3)
			} else if ($0 ~ /# SKIP/) {
				skip++
			} else {
				pass++
			}
		}
		/^(not )?ok [0-9]+ selftests: / { finish_program($0) }
		/^RGVT-LEFT-CHANGED / {
			fail++
			failures = failures "\n  " $0
		}
		END {
			if (programs < planned) {
				fail += planned - programs
				failures = failures "\n  " planned - programs " test program(s) never reported"
			}
			printf "kselftest: %d passed, %d failed, %d skipped\n", pass, fail, skip
			if (failures != "")
				printf "failed:%s\n", failures > "/dev/stderr"
			exit (fail > 0 || planned == 0)
		}'
}

judge() {
	local logfile=$1 qrc=$2 ok=1 splats

	if ! summarize_tap "$logfile"; then
		ok=0
	fi
	case $qrc in
	0) ;;
	124) log "FAIL: the guest hung and was killed after ${timeout}s"; ok=0 ;;
	125) log "FAIL: the guest died before finishing (no done marker)"; ok=0 ;;
	*) log "FAIL: the guest job exited with $qrc"; ok=0 ;;
	esac
	if grep -q '^RGVT-MODULE-LOAD-FAILED' "$logfile"; then
		log "FAIL: the module did not load"
		ok=0
	fi
	if grep -q '^RGVT-MODULE-UNLOAD-FAILED' "$logfile"; then
		log "FAIL: the module could not be unloaded (before an alone pass or at the end)"
		ok=0
	fi
	if grep -q '^RGVT-BAD-ORDER' "$logfile"; then
		log "FAIL: bad --order: $(grep -m1 '^RGVT-BAD-ORDER' "$logfile")"
		ok=0
	fi
	if splats=$(scan_splats "$logfile"); then :; else
		log "FAIL: the kernel log has splats:"
		printf '%s\n' "$splats" | head -n 60 >&2
		ok=0
	fi
	((ok))
}

build_selftests
write_env
files=(-f "$stage:/kselftest")
for ko in "${extra[@]}"; do
	files+=(-f "$ko:/lib/modules/extra/$(basename "$ko")")
done
log "prepared in $((SECONDS - start)) s; module $(basename "$module"); passes $order"
qrc=0
guest_job "$work" "$kdir" "$module" "$here/guest/kselftests.sh" \
	"${qemu_args[@]}" --timeout "$timeout" -- "${files[@]}" || qrc=$?
if judge "$work/console.log" "$qrc"; then
	log "PASS in $((SECONDS - start)) s (log: $work/console.log)"
else
	log "FAILED in $((SECONDS - start)) s (log: $work/console.log)"
	exit 1
fi
