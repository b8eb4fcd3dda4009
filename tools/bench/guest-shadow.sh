#!/bin/sh
# Guest job of tools/bench-shadow.sh: load rgvt, run shadow_bench, unload.
# Everything between RGVT-BENCH-BEGIN and RGVT-BENCH-END is what the host shows.
. /etc/rgvt/lib.sh

rc=0
module_load || { dump_dmesg; exit 1; }
echo "RGVT-BENCH-BEGIN"
# shellcheck disable=SC2086 # the arguments are words on purpose
/usr/bin/shadow_bench ${RGVT_BENCH_ARGS:-} || rc=$?
echo "RGVT-BENCH-END"
module_unload || rc=1
dump_dmesg
exit $rc
