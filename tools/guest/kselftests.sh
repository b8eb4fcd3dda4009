#!/bin/sh
# Guest job of tools/run-kselftests.sh: run every kselftest with the kernel's
# own runner (TAP, "settings" timeout) in each pass of RGVT_KSELFTEST_ORDER,
# check that every test program leaves the system as it found it, check for
# leaks after the tests and after unloading, dump the kernel log.
#
# RGVT_KSELFTEST_ORDER: passes, separated by commas or spaces, each
# ORDER[:CONTAINER]:
#   forward  the Makefile's order (TEST_GEN_PROGS), the module loaded first
#   reverse  the reverse order, the module loaded first
#   shuffle  a random order (RGVT_KSELFTEST_SEED, or a random seed that is
#            printed), the module loaded first
#   alone    the reverse order from a system without the module: each program
#            loads it, and must unload it again, so each one runs alone
#   CONTAINER  the VFIO container of the device tests (RGVT_CONTAINER of
#            rgvt_util.h): vfio (/dev/vfio/vfio, the default) or iommu
#            (/dev/iommu)
# Default: "forward:iommu,alone:vfio".
#
# Markers for the host: RGVT-LEFT-CHANGED <program> (it changed the module's
# state, vGPUs or tunables: a failure), and those of lib.sh.
. /etc/rgvt/lib.sh

order=$(echo "${RGVT_KSELFTEST_ORDER:-forward:iommu,alone:vfio}" | tr ',' ' ')

# What a test program must leave as it found it.
system_state() {
	if module_loaded; then echo "module $RGVT_MODULE loaded"; else echo "module $RGVT_MODULE not loaded"; fi
	for d in /sys/bus/mdev/devices/*; do
		[ -e "$d" ] && echo "mdev ${d##*/}"
	done
	for f in /sys/kernel/rgvt/*; do
		[ -f "$f" ] && echo "tunable ${f##*/}=$(cat "$f")"
	done
}

extra_name() { basename "$1" .ko | tr - _; }

# The module and the extra modules, loaded if they are not.
load_all() {
	module_loaded || module_load || return 1
	for ko in ${RGVT_EXTRA_KOS:-}; do
		[ -d "/sys/module/$(extra_name "$ko")" ] && continue
		insmod "$ko" || { echo "RGVT-MODULE-LOAD-FAILED $ko"; return 1; }
		echo "# loaded $ko"
	done
}

# The extra modules (last loaded first), then the module.
unload_all() {
	rev=
	for ko in ${RGVT_EXTRA_KOS:-}; do rev="$ko $rev"; done
	for ko in $rev; do
		[ -d "/sys/module/$(extra_name "$ko")" ] || continue
		rmmod "$(extra_name "$ko")" || { echo "RGVT-MODULE-UNLOAD-FAILED $ko"; return 1; }
	done
	! module_loaded || module_unload
}

# The programs of kselftest-list.txt in the pass's order, one per line.
programs_in_order() {
	list=$(sed -n 's/^rgvt://p' "$BASE_DIR/kselftest-list.txt")
	case $1 in
	forward) echo "$list" ;;
	reverse | alone) echo "$list" | tac ;;
	shuffle)
		echo "$list" | awk -v seed="$seed" 'BEGIN { srand(seed) } { print rand() "\t" $0 }' |
			sort -n | cut -f2-
		;;
	esac
}

# The kernel's kselftest runner, as run_kselftest.sh uses it (run_one per
# program, so that the job checks the system between two programs).
BASE_DIR=/kselftest
export BASE_DIR
. "$BASE_DIR/kselftest/runner.sh"
cd "$BASE_DIR/rgvt" || exit 1

seed=${RGVT_KSELFTEST_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
nprogs=$(sed -n 's/^rgvt://p' "$BASE_DIR/kselftest-list.txt" | wc -l)
npasses=0
for pass in $order; do
	case ${pass%%:*} in
	forward | reverse | shuffle | alone) ;;
	*) echo "RGVT-BAD-ORDER $pass"; exit 1 ;;
	esac
	case $pass in
	*:*) case ${pass#*:} in vfio | iommu) ;; *) echo "RGVT-BAD-ORDER $pass"; exit 1 ;; esac ;;
	esac
	npasses=$((npasses + 1))
done

rc=0
kmemleak_baseline
echo "TAP version 13"
echo "1..$((npasses * nprogs))"
test_num=0
n=0
for pass in $order; do
	n=$((n + 1))
	how=${pass%%:*}
	container=vfio
	case $pass in *:*) container=${pass#*:} ;; esac
	export RGVT_CONTAINER=$container
	echo "# pass $n of $npasses: $how, container $container$([ "$how" = shuffle ] && echo ", RGVT_KSELFTEST_SEED=$seed")"
	if [ "$how" = alone ]; then
		unload_all || { dump_dmesg; exit 1; }
	else
		load_all || { dump_dmesg; exit 1; }
	fi
	for prog in $(programs_in_order "$how"); do
		test_num=$((test_num + 1))
		system_state >/tmp/state.before
		run_one rgvt "$BASE_DIR/rgvt/$prog" "$test_num"
		system_state >/tmp/state.after
		if ! cmp -s /tmp/state.before /tmp/state.after; then
			echo "RGVT-LEFT-CHANGED $prog (pass $n: $how)"
			diff /tmp/state.before /tmp/state.after | sed 's/^/# /'
		fi
	done
done
echo "RGVT-KSELFTEST-END"
cd /

kmemleak_check "after tests"
unload_all || rc=1
kmemleak_check "after unload"
dump_dmesg
exit $rc
