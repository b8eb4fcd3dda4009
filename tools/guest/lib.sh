# Helpers for guest job scripts (busybox ash). Sourced, not run.
# shellcheck shell=sh

# Load the module under test; prints a marker the host looks for on failure.
module_load() {
	if ! insmod "$RGVT_KO"; then
		echo "RGVT-MODULE-LOAD-FAILED $RGVT_KO"
		return 1
	fi
	echo "# loaded $RGVT_KO"
}

module_loaded() { [ -d "/sys/module/$RGVT_MODULE" ]; }

# Unload it; prints a marker the host looks for on failure.
module_unload() {
	if ! rmmod "$RGVT_MODULE"; then
		echo "RGVT-MODULE-UNLOAD-FAILED $RGVT_MODULE"
		return 1
	fi
	echo "# unloaded $RGVT_MODULE"
}

KMEMLEAK=/sys/kernel/debug/kmemleak

kmemleak_enabled() { [ -w "$KMEMLEAK" ]; }

# kmemleak only reports objects older than 5 s: let boot-time allocations age,
# then mark whatever it finds now (not ours) as already seen.
kmemleak_baseline() {
	kmemleak_enabled || return 0
	while :; do
		read -r up _ </proc/uptime
		[ "${up%.*}" -ge 6 ] && break
		sleep 1
	done
	echo scan >"$KMEMLEAK"
	echo clear >"$KMEMLEAK"
	echo "# kmemleak: baseline taken"
}

# Scan and print every report; the host fails the run on "unreferenced object".
kmemleak_check() {
	kmemleak_enabled || return 0
	sleep 6
	echo scan >"$KMEMLEAK"
	echo scan >"$KMEMLEAK"
	echo "# kmemleak ($1):"
	sed 's/^/# kmemleak: /' "$KMEMLEAK"
	echo clear >"$KMEMLEAK"
}

# The whole kernel log, for the host's splat scan and for people reading the log.
dump_dmesg() {
	echo "RGVT-DMESG-BEGIN"
	dmesg
	echo "RGVT-DMESG-END"
}
