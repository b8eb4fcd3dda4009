#!/bin/sh
# shellcheck disable=SC2317 # the steps are called through $step
# Guest side of tools/demo.sh (busybox ash): what rgvt does, step by step,
# through rgvtctl (tools/rgvtctl) and a small VFIO "guest driver"
# (tools/demo/gttwalk.c), then six at once (tools/demo/manyguests.c).
#
# Everything between RGVT-DEMO-BEGIN and RGVT-DEMO-END is what the host shows.
# With DEMO_DUMP=1 in the environment, the files rgvtctl reads are dumped
# between RGVT-DUMP-BEGIN and RGVT-DUMP-END while the workload's device is
# open (the fixture of rgvtctl's tests).
#
#   sh guest-demo.sh                 the demo
#   sh guest-demo.sh while-open ID   run by gttwalk while vGPU ID is open
#   sh guest-demo.sh slots-of IDS    run by manyguests while its guests run
. /etc/rgvt/lib.sh

PARENT=/sys/class/mdev_bus/$RGVT_PARENT
TYPES=$PARENT/mdev_supported_types
DEVICES=/sys/bus/mdev/devices

title() { printf '\n== %s ==\n' "$*"; }
# Show a command, then run it.
show() {
	echo "\$ $*"
	"$@"
}
# Show a command that must be refused; fail the step if it is not.
refused() {
	echo "\$ $*"
	if "$@"; then
		echo "demo: '$*' should have been refused"
		return 1
	fi
}
available() { cat "$TYPES/rgvt-$1/available_instances"; }
# The UUID of the vGPU with id $1.
uuid_of() {
	for d in "$DEVICES"/*; do
		[ "$(cat "$d/rgvt/vgpu_id" 2>/dev/null)" = "$1" ] && basename "$d" && return 0
	done
	return 1
}
# The id of the first vGPU of type $1.
id_of_type() {
	for d in "$DEVICES"/*; do
		[ "$(basename "$(readlink "$d/mdev_type")")" = "rgvt-$1" ] && cat "$d/rgvt/vgpu_id" && return 0
	done
	return 1
}
# The id printed by "rgvtctl create" ("created vGPU <id> ...").
created_id() { sed -n 's/^created vGPU \([0-9]*\) .*/\1/p'; }

step_load() {
	title "1. load rgvt: one simulated GPU (4 GB of GM: 256 MB aperture, 64 MB for the host; 60 high-GM slots of 64 MB)"
	module_load || return 1
	show rgvtctl types
}

step_partitioned() {
	title "2. GVT-g's way: each vGPU gets its own piece of the GGTT"
	show rgvtctl create V5_4 || return 1
	show rgvtctl create V5_8 || return 1
	refused rgvtctl create V5_8 || return 1
	echo "(two vGPUs and the 192 MB of guest aperture are gone: GVT-g's \"No space left on device\")"
}

step_shared() {
	title "3. gScale: S_32 vGPUs share 64 MB slots of high GM"
	v54=$(id_of_type V5_4) || return 1
	show rgvtctl remove "$v54" || return 1
	n=0 ids=""
	while [ "$(available S_32)" -gt 0 ]; do
		out=$(rgvtctl create S_32) || { echo "$out"; return 1; }
		ids="$ids $(echo "$out" | created_id)"
		n=$((n + 1))
		[ "$n" -le 2 ] && echo "\$ rgvtctl create S_32" && echo "$out"
	done
	echo "... created $n S_32 vGPUs in all (ids$ids), until available_instances reached 0"
	refused rgvtctl create S_32 || return 1
	show rgvtctl list || return 1
	show rgvtctl slots || return 1
}

step_workload() {
	id=$(id_of_type V5_8) || return 1
	uuid=$(uuid_of "$id") || return 1
	title "4. a guest driver on vGPU $id: GGTT entries through BAR0, data through the aperture (gttwalk)"
	echo "\$ gttwalk $uuid -- rgvtctl stats $id"
	gttwalk "$uuid" -- sh /etc/rgvt/job.sh while-open "$id" || return 1
	echo "(gttwalk closed the device: every pin is dropped, the entries went back to scratch)"
	echo "\$ rgvtctl stats $id | grep -E 'pins|resets'"
	rgvtctl stats "$id" | grep -E 'pins|resets'
}

# Run by gttwalk while the device is open.
while_open() {
	rgvtctl stats "$1"
	echo "\$ rgvtctl top -b -n 1 -d 0.5 | head -9    # the live view, one screen"
	rgvtctl top -b -n 1 -d 0.5 | head -9
	echo "\$ rgvtctl list --json | head -15"
	rgvtctl list --json | head -15
	[ "${DEMO_DUMP:-0}" = 1 ] && dump
	return 0
}

# Six guest drivers at once, on S_32 vGPUs of step 3 that share slots: the
# first six distinct S_32 holders of the first slots (debugfs slots: "slot gm_base
# owner holders"), so their batches and targets sit at the same GM addresses.
step_many_guests() {
	title "5. many guests share one GPU: a guest driver on each of 6 S_32 vGPUs, the GPU-wide scheduler switching their GTT entries"
	ids=""
	for id in $(awk 'NR > 2 { n = split($4, h, ","); for (i = 1; i <= n; i++) print h[i] }' \
		/sys/kernel/debug/rgvt/slots | awk '!seen[$1]++'); do
		d=$DEVICES/$(uuid_of "$id") || return 1
		[ "$(basename "$(readlink "$d/mdev_type")")" = rgvt-S_32 ] && ids="$ids $id"
	done
	ids=$(echo $ids | cut -d' ' -f1-6)
	set -- $ids
	[ $# = 6 ] || { echo "demo: 6 vGPUs holding shared slots expected, got: $ids"; return 1; }
	echo "(S_32 vGPUs $ids of step 3: their high GM slots overlap; the slots they hold:)"
	echo "\$ head -n 10 /sys/kernel/debug/rgvt/slots"
	head -n 10 /sys/kernel/debug/rgvt/slots
	uuids=""
	for id in $ids; do
		u=$(uuid_of "$id") || return 1
		uuids="$uuids $u"
	done
	set -- $uuids
	w1=$(cat "$DEVICES/$1/rgvt/vgpu_id") w4=$(cat "$DEVICES/$2/rgvt/vgpu_id")
	echo "\$ echo 1 > $DEVICES/$1/rgvt/weight    # vGPU $w1"
	echo 1 >"$DEVICES/$1/rgvt/weight" || return 1
	echo "\$ echo 4 > $DEVICES/$2/rgvt/weight    # vGPU $w4"
	echo 4 >"$DEVICES/$2/rgvt/weight" || return 1
	echo "\$ manyguests -t 6 <the 6 UUIDs> -- rgvtctl slots    # the slots halfway through (the six's rows)"
	manyguests -t 6 "$@" -- sh /etc/rgvt/job.sh slots-of "$ids" ||
		{ echo "demo: a guest's result was wrong or missing"; return 1; }
	echo "\$ rgvtctl stats $w4 | grep -E 'weight| busy_ns|switches|entries_copied'"
	rgvtctl stats "$w4" | grep -E 'weight| busy_ns|switches|entries_copied'
}

# Run by manyguests while its guests run: rgvtctl slots, the grid cut to
# the rows of the vGPUs $1.
slots_of() {
	rgvtctl slots | awk -v ids=" $1 " '
		/^ *[0-9]+ [A-Z]/ { if (index(ids, " " $1 " ")) print; else other++; next }
		/^holders +[0-9]/ { printf "  (%d other vGPUs)\n", other }
		{ print }'
}

step_tunables() {
	title "6. tunables (/sys/kernel/rgvt): the kernel validates every write"
	show rgvtctl get || return 1
	# Any of the five, at any time; a vGPU whose guest writes nothing traps
	# (no KVM, tracking region unused) runs "full" and says so in debugfs.
	show rgvtctl set policy dynamic || return 1
	show rgvtctl set relax_threshold 2 || return 1
	show rgvtctl set balloon_t1 0.3 || return 1
	show rgvtctl set balloon_t2 0.8 || return 1
	refused rgvtctl set balloon_t1 0.9 || return 1
	refused rgvtctl set policy fastest || return 1
	show rgvtctl get policy || return 1
	show rgvtctl balloon || return 1
}

step_remove() {
	title "7. remove every vGPU, unload, nothing left"
	n=0
	for d in "$DEVICES"/*; do
		[ -e "$d/rgvt/vgpu_id" ] || continue
		rgvtctl remove "$(basename "$d")" >/dev/null || return 1
		n=$((n + 1))
	done
	echo "removed $n vGPUs"
	show rgvtctl list || return 1
	module_unload || return 1
	left=0
	for p in /sys/kernel/rgvt /sys/kernel/debug/rgvt /sys/class/rgvt "$PARENT" "$DEVICES"/*; do
		[ -e "$p" ] && echo "LEFT BEHIND: $p" && left=1
	done
	[ "$left" = 0 ] || return 1
	echo "no /sys/kernel/rgvt, no debugfs, no parent device, no mdev devices"
	refused rgvtctl types
}

# The files rgvtctl reads, as "@@FILE path" + contents and "@@LINK path target".
dump() {
	echo "RGVT-DUMP-BEGIN"
	for f in "$TYPES"/*/name "$TYPES"/*/description "$TYPES"/*/available_instances \
		"$DEVICES"/*/rgvt/* /sys/kernel/rgvt/* /sys/kernel/debug/rgvt/vgpus \
		/sys/kernel/debug/rgvt/slots /sys/kernel/debug/rgvt/gpu /sys/kernel/debug/rgvt/vgpu*/counters; do
		echo "@@FILE $f"
		cat "$f"
	done
	for d in "$DEVICES"/*; do
		echo "@@LINK $d/mdev_type $(readlink "$d/mdev_type")"
	done
	echo "RGVT-DUMP-END"
}

main() {
	for step in step_load step_partitioned step_shared step_workload step_many_guests step_tunables step_remove; do
		$step || { echo "demo: $step failed"; return 1; }
	done
}

if [ "${1:-}" = while-open ]; then
	while_open "$2"
	exit
fi
if [ "${1:-}" = slots-of ]; then
	slots_of "$2"
	exit
fi
echo "RGVT-DEMO-BEGIN"
rc=0
main || rc=1
echo "RGVT-DEMO-END"
dump_dmesg
exit $rc
