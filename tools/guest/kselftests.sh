#!/bin/sh
# Guest job of tools/run-kselftests.sh: load the module, run every kselftest
# with the kernel's own runner (TAP, "settings" timeout), check for leaks
# after the tests and after unloading, dump the kernel log.
. /etc/rgvt/lib.sh

rc=0
kmemleak_baseline
module_load || { dump_dmesg; exit 1; }
for ko in ${RGVT_EXTRA_KOS:-}; do
	insmod "$ko" || { echo "RGVT-MODULE-LOAD-FAILED $ko"; dump_dmesg; exit 1; }
	echo "# loaded $ko"
done

# The kernel's kselftest runner, as run_kselftest.sh uses it.
BASE_DIR=/kselftest
export BASE_DIR
. "$BASE_DIR/kselftest/runner.sh"
cd "$BASE_DIR/rgvt" || exit 1
# kselftest-list.txt keeps the order the Makefile gives (TEST_GEN_PROGS).
tests=$(sed -n 's/^rgvt://p' "$BASE_DIR/kselftest-list.txt" | sed "s|^|$BASE_DIR/rgvt/|")
# shellcheck disable=SC2086 # one word per test
run_many $tests
echo "RGVT-KSELFTEST-END"
cd /

kmemleak_check "after tests"
if module_loaded; then
	module_unload || rc=1
else
	echo "RGVT-MODULE-MISSING-AFTER-TESTS $RGVT_MODULE"
	rc=1
fi
kmemleak_check "after unload"
dump_dmesg
exit $rc
