#!/bin/sh
# /init of the second-level guest of tools/run-nested.sh (busybox ash): the
# guest QEMU boots inside the test guest on a vGPU. Its console is the
# first-level job's QEMU stdout, which prefixes every line with "L2| ".
#
# Lines the first-level job reads:
#   RGVT-L2-BOOTED
#   RGVT-L2-CHECK <name> ok|FAIL [detail]   (also from l2i915)
#   RGVT-L2-READY      the checks are done and the vGPU is out of this
#                      kernel's hands (as the ACPI hotplug driver leaves it
#                      before the eject, which the first-level job plays)
# The kernel's own messages (loglevel=7 on the command line) come on the
# same console, so the i915 probe can be followed even if /init never runs.
mount -t devtmpfs dev /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t debugfs debugfs /sys/kernel/debug
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
echo "RGVT-L2-BOOTED uptime=$(cut -d' ' -f1 /proc/uptime)"
# Kernel info messages from here on would cut into the check lines; warnings stay.
echo 5 >/proc/sys/kernel/printk

check() {
	name=$1
	shift
	if "$@"; then echo "RGVT-L2-CHECK $name ok"; else echo "RGVT-L2-CHECK $name FAIL"; fi
}

dev=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x8086 ] && [ "$(cat "$d/device")" = 0x1912 ] && dev=$d
done
echo "RGVT-L2-INFO vgpu ${dev:-none}"
check pci-id [ -n "$dev" ]
check card0 [ -e /dev/dri/card0 ]

# i915 is not wedged: its probe's requests on every engine (the default
# contexts' records, __engines_record_defaults) completed on rgvt's engines.
# i915's debugfs says 0 when no GT is terminally wedged; the log has no
# "wedged" (intel_gt_set_wedged and friends say so).
wedged=
for f in /sys/kernel/debug/dri/*/i915_wedged; do
	[ -e "$f" ] && wedged=$(cat "$f" 2>/dev/null)
done
echo "RGVT-L2-INFO i915_wedged ${wedged:-none}"
dmesg | grep -i wedged | sed 's/^/RGVT-L2-INFO dmesg: /'
check not-wedged sh -c "[ '$wedged' = 0 ] && ! dmesg | grep -qi wedged"
# The GPU through i915's uAPI: a store-dword on rcs0, a blitter copy on bcs0.
if [ -e /dev/dri/card0 ]; then
	l2i915
	echo "RGVT-L2-INFO l2i915 exit $?"
else
	echo "RGVT-L2-CHECK store-dword FAIL no /dev/dri/card0"
	echo "RGVT-L2-CHECK blit-copy FAIL no /dev/dri/card0"
fi

if [ -n "$dev" ]; then
	drv=$(basename "$(readlink "$dev/driver" 2>/dev/null)" 2>/dev/null)
	echo "RGVT-L2-INFO driver ${drv:-none}"
	# l2bars writes GGTT entries: i915 must not own the device meanwhile.
	if [ -n "$drv" ]; then
		check unbind-"$drv" sh -c "echo $(basename "$dev") >$dev/driver/unbind"
	fi
	check bars l2bars "$dev"
	# What acpiphp does before _EJ0; this kernel has no CONFIG_HOTPLUG_PCI.
	check guest-remove sh -c "echo 1 >$dev/remove"
fi
echo "RGVT-L2-READY"
# The first-level job removes the vGPU now, then quits QEMU.
sleep 300
echo "RGVT-L2-DONE"
poweroff -f
