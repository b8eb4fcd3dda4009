#!/bin/sh
# Guest job of tools/bench-trap.sh and tools/bench-gm.sh: load rgvt, run the
# benchmark program (RGVT_BENCH_PROG, default trap_cost), unload.
# Everything between RGVT-BENCH-BEGIN and RGVT-BENCH-END is what the host shows.
. /etc/rgvt/lib.sh

rc=0
module_load || { dump_dmesg; exit 1; }
echo "RGVT-BENCH-BEGIN"
# shellcheck disable=SC2086 # the arguments are words on purpose
"/usr/bin/${RGVT_BENCH_PROG:-trap_cost}" ${RGVT_BENCH_ARGS:-} || rc=$?
echo "RGVT-BENCH-END"
module_unload || rc=1
dump_dmesg
exit $rc
