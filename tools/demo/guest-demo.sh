#!/bin/sh
# shellcheck disable=SC2317 # the steps are called through $step
# Guest side of tools/demo.sh: load rgvt, create vGPUs of different types,
# show what the module reports, remove them and unload.
#
# Everything between RGVT-DEMO-BEGIN and RGVT-DEMO-END is what the host shows.
# To extend the demo, add a step function and call it from main.
. /etc/rgvt/lib.sh

PARENT=/sys/class/mdev_bus/$RGVT_PARENT
TYPES=$PARENT/mdev_supported_types
TUNABLES=/sys/kernel/rgvt
DEBUGFS=/sys/kernel/debug/rgvt
DEVICES=/sys/bus/mdev/devices
# How many vGPUs of which type to create: "type-suffix count" pairs.
DEMO_VGPUS=${DEMO_VGPUS:-"V5_4 2
V5_2 1
V5_1 1"}
created=""

title() { printf '\n== %s ==\n' "$*"; }
# The first line of a sysfs file, or "-" if it cannot be read.
val() { head -n1 "$1" 2>/dev/null || echo -; }
uuid() { cat /proc/sys/kernel/random/uuid 2>/dev/null || uuid_from_urandom; }
uuid_from_urandom() {
	hexdump -n 16 -e '4/1 "%02x" "-" 2/1 "%02x" "-" 2/1 "%02x" "-" 2/1 "%02x" "-" 6/1 "%02x" "\n"' /dev/urandom |
		sed 's/^\(.\{14\}\)./\14/; s/^\(.\{19\}\)./\18/'
}

step_load() {
	title "load"
	module_load || return 1
	echo "parent: $PARENT -> $(readlink -f "$PARENT")"
}

step_types() {
	title "vGPU types"
	printf '%-12s %-10s %s\n' TYPE AVAILABLE DESCRIPTION
	for t in "$TYPES"/*; do
		[ -d "$t" ] || continue
		desc=$(tr '\n' ' ' <"$t/description" 2>/dev/null)
		printf '%-12s %-10s %s\n' "$(val "$t/name")" "$(val "$t/available_instances")" "${desc:--}"
	done
}

step_tunables() {
	title "tunables ($TUNABLES)"
	[ -d "$TUNABLES" ] || { echo "(none)"; return 0; }
	for f in "$TUNABLES"/*; do
		printf '%-20s %s\n' "$(basename "$f")" "$(val "$f")"
	done
}

create_one() {
	type=$1
	u=$(uuid)
	if echo "$u" >"$TYPES/$type/create"; then
		created="$created $u"
		echo "created $u ($type)"
	else
		echo "create $type failed"
		return 1
	fi
}

# The mdev devices that exist, one UUID per line.
mdevs() {
	for d in "$DEVICES"/*; do
		[ -e "$d" ] && basename "$d"
	done
}

step_create() {
	title "create vGPUs"
	while read -r suffix count; do
		type=
		for t in "$TYPES"/*"$suffix"; do
			[ -d "$t" ] && type=$(basename "$t") && break
		done
		[ -n "$type" ] || { echo "no type *$suffix"; continue; }
		i=0
		while [ "$i" -lt "$count" ]; do
			create_one "$type" || break
			i=$((i + 1))
		done
	done <<-EOF
		$DEMO_VGPUS
	EOF
}

step_list() {
	title "vGPUs (sysfs)"
	printf '%-38s %-8s %-12s %s\n' UUID VGPU_ID TYPE IOMMU_GROUP
	for u in $(mdevs); do
		d=$DEVICES/$u
		printf '%-38s %-8s %-12s %s\n' "$u" "$(val "$d/rgvt/vgpu_id")" \
			"$(basename "$(readlink "$d/mdev_type")")" "$(basename "$(readlink "$d/iommu_group")")"
	done
	title "vGPUs (debugfs $DEBUGFS/vgpus)"
	cat "$DEBUGFS/vgpus" 2>/dev/null || echo "(none)"
	title "available instances after creating"
	for t in "$TYPES"/*; do
		printf '%-12s %s\n' "$(val "$t/name")" "$(val "$t/available_instances")"
	done
}

step_remove() {
	title "remove vGPUs"
	for u in $created; do
		echo 1 >"$DEVICES/$u/remove" && echo "removed $u"
	done
	echo "left: $(mdevs | wc -l) mdev devices"
}

step_unload() {
	title "unload"
	module_unload || return 1
	for p in /sys/kernel/rgvt /sys/kernel/debug/rgvt /sys/class/rgvt; do
		[ -e "$p" ] && echo "LEFT BEHIND: $p"
	done
	echo "nothing left behind"
}

main() {
	for step in step_load step_types step_tunables step_create step_list step_remove step_unload; do
		$step || { echo "demo: $step failed"; return 1; }
	done
}

echo "RGVT-DEMO-BEGIN"
rc=0
main || rc=1
echo "RGVT-DEMO-END"
dump_dmesg
exit $rc
