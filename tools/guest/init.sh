#!/bin/sh
# /init of rgvt's QEMU test guest (busybox ash): mount the pseudo file systems,
# run the job the host put in /etc/rgvt/job.sh, then power off.
#
# The host reads the serial console. Markers it relies on:
#   RGVT-GUEST-BOOTED uptime=<s>   init started (kernel uptime: the boot time)
#   RGVT-GUEST-DONE rc=<n>         the job finished with exit code n
# A guest that panics or hangs never prints the second one.

mount -t devtmpfs dev /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmp /tmp
mkdir -p /dev/pts /dev/shm
mount -t tmpfs shm /dev/shm
# devtmpfs has no /dev/std*; kselftest's runner writes to /dev/stdout.
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr

read -r uptime _ </proc/uptime
echo "RGVT-GUEST-BOOTED uptime=${uptime}s"

export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
# Settings from the host (RGVT_MODULE, RGVT_KO, ...).
[ -r /etc/rgvt/env ] && . /etc/rgvt/env

rc=0
sh /etc/rgvt/job.sh || rc=$?
echo "RGVT-GUEST-DONE rc=$rc"
sync
poweroff -f
