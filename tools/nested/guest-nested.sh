#!/bin/sh
# shellcheck disable=SC2317 # the steps are called through run_step
# Guest job of tools/run-nested.sh (busybox ash, in the TCG test guest):
# mdevctl on rgvt's types, then Debian's QEMU on a vGPU: once under TCG only
# to see it realize the device, once under KVM booting a second-level guest
# (the same test kernel, its stock i915, /init = tools/nested/l2-init.sh),
# then removing the vGPU while QEMU holds it, and unloading rgvt.
#
# Prints one line per rung, "RGVT-NESTED-RUNG <name> ok|FAIL [detail]"; the
# host adds the splat scans of both kernels and counts them. The second-level
# console is prefixed "L2| " (TCG run: "L2-TCG| ").
#
# Settings (/etc/rgvt/env): NESTED_TYPE, NESTED_L2_APPEND, NESTED_L2_TIMEOUT.
. /etc/rgvt/lib.sh

PARENT=/sys/class/mdev_bus/$RGVT_PARENT
DEVICES=/sys/bus/mdev/devices
TYPE=${NESTED_TYPE:-rgvt-V5_8}
FW=/usr/share/qemu
L2=/nested
L2_LOG=/tmp/l2.log
CR=$(printf '\r')
ESC=$(printf '\033')
QEMU=qemu-system-x86_64
QEMU_PID=

rung() {
	name=$1 res=$2
	shift 2
	echo "RGVT-NESTED-RUNG $name $res${*:+ ($*)}"
}
# check NAME CMD...: a rung that passes if CMD does.
check() {
	name=$1
	shift
	if "$@"; then rung "$name" ok; else rung "$name" FAIL; return 1; fi
}
now() { cut -d. -f1 /proc/uptime; }
new_uuid() { cat /proc/sys/kernel/random/uuid; }
# prefix TAG [LOG]: copy stdin to stdout with TAG before each line, and to
# LOG (default $L2_LOG).
# Lines with escape sequences (the monitor's echo of a command) go only to LOG.
prefix() {
	while IFS= read -r line; do
		line=${line%"$CR"}
		case "$line" in
		*"$ESC"*) ;;
		*) printf '%s%s\n' "$1" "$line" ;;
		esac
		printf '%s\n' "$line" >>"${2:-$L2_LOG}"
	done
}
# mon [-q] CMD: an HMP command to the KVM QEMU's monitor (-monitor pipe:/tmp/qmon).
# (A FIFO nobody reads blocks its writer: hence the timeout.)
mon() {
	[ "$1" = -q ] && shift || echo "(monitor) $1"
	# shellcheck disable=SC2016 # $1 of the inner shell
	timeout 5 sh -c 'echo "$1" >/tmp/qmon.in' _ "$1"
	sleep 1
}
# pcihp_down: QEMU's ACPI PCI hotplug register PCID (port 0xae04): the slots
# of bus 0 with a removal pending.
pcihp_down() {
	mon -q "i /w 0xae04"
	sed -n 's/.*port.\[0xae04\] = \(0x[0-9a-f]*\).*/\1/p' /tmp/mon.log | tail -n1
}
# wait_l2 PATTERN SECS: wait until the L2 log has PATTERN or QEMU exited.
wait_l2() {
	end=$(($(now) + $2))
	while [ "$(now)" -lt "$end" ]; do
		grep -q "$1" "$L2_LOG" 2>/dev/null && return 0
		[ -n "$QEMU_PID" ] && ! kill -0 "$QEMU_PID" 2>/dev/null && break
		sleep 1
	done
	grep -q "$1" "$L2_LOG" 2>/dev/null
}
l2_has() { grep -q "$1" "$L2_LOG" 2>/dev/null; }
# has TEXT REGEX: a line of TEXT matches REGEX.
has() { printf '%s\n' "$1" | grep -q "$2"; }
counters() { cat "/sys/kernel/debug/rgvt/vgpu$1/counters" 2>/dev/null; }
# nap: a short sleep (busybox's sleep takes fractions when built with them).
nap() { sleep 0.2 2>/dev/null || sleep 1; }
# wait_l2_any PAT1 PAT2 SECS: as wait_l2 (polling faster), for PAT1;
# fails at once on PAT2.
wait_l2_any() {
	end=$(($(now) + $3))
	while [ "$(now)" -lt "$end" ]; do
		l2_has "$1" && return 0
		l2_has "$2" && return 1
		[ -n "$QEMU_PID" ] && ! kill -0 "$QEMU_PID" 2>/dev/null && break
		nap
	done
	l2_has "$1"
}
counter_in() { awk -v n="$2" '$1 == n { print $2 }' "$1"; }

# --- mdevctl: list the types, start and stop a vGPU by UUID --------------
step_mdevctl() {
	mkdir -p /etc/mdevctl.d/scripts.d/callouts /etc/mdevctl.d/scripts.d/notifiers
	echo "\$ mdevctl types"
	out=$(mdevctl types 2>&1)
	echo "$out"
	check mdevctl-types has "$out" " $TYPE\$"
	u=$(new_uuid)
	echo "\$ mdevctl start -u $u -p $RGVT_PARENT --type $TYPE"
	mdevctl start -u "$u" -p "$RGVT_PARENT" --type "$TYPE"
	check mdevctl-start [ -e "$DEVICES/$u/rgvt/vgpu_id" ]
	echo "\$ mdevctl list"
	out=$(mdevctl list 2>&1)
	echo "$out"
	check mdevctl-list has "$out" "^$u $RGVT_PARENT $TYPE"
	echo "\$ mdevctl stop -u $u"
	mdevctl stop -u "$u"
	check mdevctl-stop [ ! -e "$DEVICES/$u" ]
}

# --- QEMU under TCG: realize only (-S, "info pci" on the monitor) --------
step_tcg() {
	echo "\$ $QEMU -L $FW -accel tcg -cpu qemu64 -m 256M -smp 1 -nodefaults -display none" \
		"-vga none -nic none -S -monitor stdio -device vfio-pci,sysfsdev=$DEVICES/$UUID"
	: >"$L2_LOG"
	printf 'info pci\nquit\n' |
		timeout 300 $QEMU -L $FW -accel tcg -cpu qemu64 -m 256M -smp 1 -nodefaults \
			-display none -vga none -nic none -S -monitor stdio \
			-device "vfio-pci,sysfsdev=$DEVICES/$UUID" 2>&1 | prefix "L2-TCG| "
	check qemu-tcg-realize l2_has 'PCI device 8086:1912'
}

# --- l2i915's phases (issue 11): policies switched while L2 runs ----------
# l2i915 keeps its i915 context (and so its PPGTT, which rgvt shadows) from
# its first execbuffers on, and for each phase waits for a line on its
# console (QEMU's stdin, fd 7 here): the phase's name. Before naming it,
# this job sets the global shadow policy the phase is named after;
# "switching" flips it (the global file and the vGPU's own shadow_policy in
# turn) while the phase runs. Counters of debugfs shadow are read while
# l2i915 waits, so each phase's deltas are its own.
PHASES="strict full static dynamic segmented switching"
PHASE_COUNTERS="traps_kvm traps_pt ptes_rebuilt trap_ns reconstruct_ns to_relaxed reconstructions"

snap() { cat "/sys/kernel/debug/rgvt/vgpu$id/shadow" >"$1" 2>/dev/null; }
# delta NAME: the counter's change over the phase (/tmp/phase.before -> after).
delta() {
	b=$(counter_in /tmp/phase.before "$1")
	a=$(counter_in /tmp/phase.after "$1")
	echo $((${a:-0} - ${b:-0}))
}
# to_l2 LINE: one line to l2i915's console (a subshell: QEMU gone = SIGPIPE there).
to_l2() { (echo "$1" >&7) 2>/dev/null; }

# The "switching" phase's writer: policies in turn, to the global file and
# the vGPU's own (back to "default" now and then), until killed.
flip_policies() {
	own=$DEVICES/$UUID/rgvt/shadow_policy
	while :; do
		for w in g:segmented o:strict g:full o:default g:dynamic o:static g:strict o:default; do
			if [ "${w%%:*}" = g ]; then
				echo "${w#*:}" >/sys/kernel/rgvt/policy
			else
				echo "${w#*:}" >"$own"
			fi
			echo "$w" >>/tmp/flips
			nap
		done
	done
}

# phase_report NAME: the first-level side of the phase's bench row.
phase_report() {
	for c in $PHASE_COUNTERS; do eval "d_$c=\$(delta $c)"; done
	l2ms=$(sed -n "s/^RGVT-L2-INFO bench-l2 $1: .* l2_ms=\([0-9.]*\) .*/\1/p" "$L2_LOG" | tail -n1)
	# shellcheck disable=SC2154 # d_* are set by the eval above
	med=$((d_trap_ns + d_reconstruct_ns))
	# shellcheck disable=SC2154
	echo "RGVT-L2-INFO bench $1: traps_kvm=$d_traps_kvm traps_pt=$d_traps_pt" \
		"ptes_rebuilt=$d_ptes_rebuilt trap_ns=$d_trap_ns reconstruct_ns=$d_reconstruct_ns" \
		"mediation_ns=$med to_relaxed=$d_to_relaxed reconstructions=$d_reconstructions" \
		"l2_ms=${l2ms:-?}"
	echo "$1 $d_traps_kvm $d_ptes_rebuilt $med ${l2ms:-0}" >>/tmp/phases.tsv
}

step_phases() {
	: >/tmp/phases.tsv
	n=1
	prev=
	flip_pid=
	for ph in $PHASES end; do
		# The first waits for i915's probe and l2i915's first checks too.
		if ! wait_l2_any "RGVT-L2-SYNC $n" "RGVT-L2-INFO l2i915 exit" \
			"$([ $n = 1 ] && echo "${NESTED_L2_TIMEOUT:-180}" || echo 120)"; then
			echo "# phases: no RGVT-L2-SYNC $n from l2i915"
			return 1
		fi
		if [ -n "$prev" ]; then
			snap /tmp/phase.after
			phase_report "$prev"
		fi
		if [ "$ph" = end ]; then
			to_l2 end
			break
		fi
		pol=$ph
		[ "$ph" = switching ] && pol=strict
		echo "$pol" >/sys/kernel/rgvt/policy
		echo "# phase $n: $ph (policy $(cat /sys/kernel/rgvt/policy))"
		snap /tmp/phase.before
		to_l2 "$ph"
		if [ "$ph" = switching ]; then
			: >/tmp/flips
			flip_policies &
			flip_pid=$!
		fi
		wait_l2_any "RGVT-L2-PHASE-END $n" "RGVT-L2-INFO l2i915 exit" 120
		if [ -n "$flip_pid" ]; then
			kill "$flip_pid"
			wait "$flip_pid" 2>/dev/null
			flip_pid=
			echo "default" >"$DEVICES/$UUID/rgvt/shadow_policy"
			echo "# phase $n: $(wc -l </tmp/flips) policy writes" \
				"(global and the vGPU's own, in turn) while l2i915 ran"
		fi
		prev=$ph
		n=$((n + 1))
	done
	# Ratios to strict (informational: nothing is asserted on them).
	awk '$1 == "strict" { t = $2; m = $4; l = $5 }
		{ r[NR] = $0 }
		END {
			for (i = 1; i <= NR; i++) {
				split(r[i], f, " ")
				printf "RGVT-L2-INFO bench-ratio %s: traps %s, mediation %s, l2 time %s (to strict)\n",
					f[1], t ? sprintf("%.3fx", f[2] / t) : "-",
					m ? sprintf("%.3fx", f[4] / m) : "-", l ? sprintf("%.3fx", f[5] / l) : "-"
			}
		}' /tmp/phases.tsv
}

# The rungs of the phases: each phase's checks right, KVM traps moved under
# strict and fewer under segmented (the same L2 program).
phase_rungs() {
	for ph in $PHASES; do
		check "l2-rebind-$ph" l2_has "RGVT-L2-CHECK rebind-$ph ok"
	done
	strict=$(awk '$1 == "strict" { print $2 }' /tmp/phases.tsv)
	seg=$(awk '$1 == "segmented" { print $2 }' /tmp/phases.tsv)
	if [ "${strict:-0}" -gt 0 ]; then
		rung kvm-traps-strict ok "$strict KVM traps"
	else
		rung kvm-traps-strict FAIL "${strict:-no} KVM traps under strict"
	fi
	if [ -n "$seg" ] && [ "${strict:-0}" -gt "$seg" ]; then
		rung kvm-traps-segmented-lower ok "$seg under segmented, $strict under strict"
	else
		rung kvm-traps-segmented-lower FAIL "${seg:-?} under segmented, ${strict:-?} under strict"
	fi
}

# --- QEMU under KVM: the second-level guest ------------------------------
step_kvm() {
	id=$(cat "$DEVICES/$UUID/rgvt/vgpu_id")
	if [ -n "${NESTED_POLICY:-}" ]; then
		echo "\$ echo $NESTED_POLICY > /sys/kernel/rgvt/policy"
		echo "$NESTED_POLICY" >/sys/kernel/rgvt/policy
	fi
	counters "$id" >/tmp/counters.before
	: >"$L2_LOG"
	rm -f /tmp/l2.fifo /tmp/l2.in /tmp/qmon.in /tmp/qmon.out
	mkfifo /tmp/l2.fifo /tmp/l2.in /tmp/qmon.in /tmp/qmon.out
	: >/tmp/mon.log
	prefix "L2| " </tmp/l2.fifo &
	prefix_pid=$!
	prefix "L2-MON| " /tmp/mon.log </tmp/qmon.out &
	mon_pid=$!
	cmdline="console=ttyS0 loglevel=7 panic=-1 rdinit=/init i915.disable_display=1 i915.enable_guc=0 ${NESTED_L2_APPEND:-}"
	echo "\$ $QEMU -L $FW -accel kvm -cpu qemu64 -m 512M -smp 1 -nodefaults -nographic -no-reboot" \
		"-vga none -nic none -serial stdio -monitor pipe:/tmp/qmon" \
		"-device vfio-pci,id=vgpu,sysfsdev=$DEVICES/$UUID,addr=02.0" \
		"-kernel $L2/bzImage -initrd $L2/initrd.gz -append '$cmdline'"
	t0=$(now)
	$QEMU -L $FW -accel kvm -cpu qemu64 -m 512M -smp 1 -nodefaults -nographic -no-reboot \
		-vga none -nic none -serial stdio -monitor pipe:/tmp/qmon \
		-device "vfio-pci,id=vgpu,sysfsdev=$DEVICES/$UUID,addr=02.0" \
		-kernel $L2/bzImage -initrd $L2/initrd.gz -append "$cmdline" \
		</tmp/l2.in >/tmp/l2.fifo 2>&1 &
	QEMU_PID=$!
	# The second-level console's input (l2i915's phases): open until QEMU exits.
	exec 7>/tmp/l2.in

	# Realized: QEMU only starts the guest once every device realized.
	wait_l2 'Linux version' 300
	check qemu-kvm-realize l2_has 'Linux version'
	t_boot=$(($(now) - t0))
	# l2i915's phases first: it waits for them before /init goes on.
	step_phases
	# /init runs once the built-in i915 finished (or gave up) probing.
	wait_l2 RGVT-L2-READY "${NESTED_L2_TIMEOUT:-600}"
	t_ready=$(($(now) - t0))
	if l2_has 'Linux version'; then
		echo "# nested: L2 kernel up ${t_boot}s after QEMU started;" \
			"$(l2_has RGVT-L2-READY && echo "L2 checks done after ${t_ready}s" || echo "no RGVT-L2-READY after ${t_ready}s")"
	else
		echo "# nested: QEMU never started the L2 kernel"
	fi
	# The guest sees the device: its /sys (from /init) or the kernel's enumeration.
	if l2_has 'RGVT-L2-CHECK pci-id ok'; then
		rung l2-pci-id ok "/sys/bus/pci/devices"
	elif l2_has '\[8086:1912\] type 00'; then
		rung l2-pci-id ok "kernel enumeration; /init not reached"
	else
		rung l2-pci-id FAIL
	fi
	check i915-vgpu-detected l2_has 'Virtual GPU for Intel GVT-g detected'
	check i915-balloon l2_has 'VGT balloon successfully'
	check i915-probe-done l2_has 'RGVT-L2-CHECK card0 ok'
	# rgvt's engines under the stock i915 (issue 10): not wedged, then
	# l2i915's store-dword and blitter copy through i915's uAPI.
	check i915-not-wedged l2_has 'RGVT-L2-CHECK not-wedged ok'
	check l2-store-dword l2_has 'RGVT-L2-CHECK store-dword ok'
	check l2-blit-copy l2_has 'RGVT-L2-CHECK blit-copy ok'
	phase_rungs
	check l2-bars l2_has 'RGVT-L2-CHECK bars ok'
	counters "$id" >/tmp/counters.after
	echo "# vGPU $id counters, before QEMU -> now:"
	awk 'NR == FNR { b[$1] = $2; next } { printf "#   %-28s %10s -> %s\n", $1, b[$1], $2 }' \
		/tmp/counters.before /tmp/counters.after
	before=$(counter_in /tmp/counters.before mmio_reads)
	after=$(counter_in /tmp/counters.after mmio_reads)
	# A device reset zeroes the register counters: "moved" = changed, with reads.
	check counters-moved sh -c "[ ${after:-0} -gt 0 ] && ! cmp -s /tmp/counters.before /tmp/counters.after"
	echo "# mmio_reads ${before:-?} -> ${after:-?}"
	# The shadow's write tracking while the guest ran (KVM, under its policy).
	grep -E '^(policy|policy_effective|policy_override|policy_changes|tracking|tracked_frames|traps_kvm|kvm_foreign|protects|traps_spurious|pages_now|clears|traps_region|trap_errors|trap_ns|strict_pages|relaxed_pages|traps_pml4|traps_pdp|traps_pd|traps_pt|trees|attaches|pv_l4_creates|kvm_lost|kvm_protect_errors|reconstruct_ns|ptes_rebuilt|to_relaxed|to_strict|reconstructions) ' \
		"/sys/kernel/debug/rgvt/vgpu$id/shadow" 2>/dev/null | sed 's/^/# shadow: /'
	# What the stock guest touched that rgvt does not model (debugfs).
	sed 's/^/# untracked: /' "/sys/kernel/debug/rgvt/vgpu$id/untracked" 2>/dev/null

	step_remove
	wait "$QEMU_PID"
	echo "# QEMU exited with $? after $(($(now) - t0))s"
	exec 7>&-
	QEMU_PID=
	wait "$rm_pid"
	wait "$prefix_pid"
	kill "$mon_pid" 2>/dev/null
	check vgpu-gone [ ! -e "$DEVICES/$UUID" ]
}

# Remove the vGPU while QEMU holds it: rgvt's request callback (REQ irq)
# asks QEMU to let go; QEMU asks the guest to eject the device (ACPI PCI
# hotplug: the slot's bit in PCID); the guest's _EJ0 writes the slot to
# B0EJ, QEMU unplugs the device and closes it, the removal completes while
# QEMU runs on. The test kernel has ACPI PCI hotplug (CONFIG_HOTPLUG_PCI_ACPI),
# so the second-level guest usually ejects the slot itself before the
# pending bit can be seen: then rgvt's log line for the request and the
# removal completing with QEMU still running are the evidence. Should the
# bit stay pending, the monitor plays the guest's part: the port write _EJ0
# does, as QEMU's own tests do (qpci_unplug_acpi_device_test).
step_remove() {
	slot_bit=4 # addr=02.0
	echo "\$ echo 1 > $DEVICES/$UUID/remove   (QEMU running)"
	echo 1 >"$DEVICES/$UUID/remove" &
	rm_pid=$!
	# The VFIO core calls the request callback at once, then every 10 s.
	end=$(($(now) + 25))
	requested=0
	while [ "$(now)" -lt "$end" ] && kill -0 "$QEMU_PID" 2>/dev/null; do
		down=$(pcihp_down)
		if [ -n "$down" ] && [ $((down & slot_bit)) -ne 0 ]; then
			requested=1
			break
		fi
		if ! kill -0 "$rm_pid" 2>/dev/null; then
			requested=2
			break
		fi
	done
	if [ "$requested" = 1 ]; then
		rung req-unplug-request ok "QEMU asked the guest to eject slot 2"
		mon "o /w 0xae08 $slot_bit"
	elif [ "$requested" = 2 ] && dmesg | grep -qi "relaying device request to user"; then
		rung req-unplug-request ok "REQ signalled; the guest ejected slot 2 itself"
	else
		rung req-unplug-request FAIL "no unplug request from QEMU in 25 s (REQ irq)"
	fi
	end=$(($(now) + 20))
	while kill -0 "$rm_pid" 2>/dev/null && [ "$(now)" -lt "$end" ]; do sleep 1; done
	if ! kill -0 "$rm_pid" 2>/dev/null && kill -0 "$QEMU_PID" 2>/dev/null; then
		: >/tmp/mon.log
		mon "info pci"
		if grep -q 8086:1912 /tmp/mon.log; then
			rung remove-released FAIL "the vGPU is gone but QEMU still lists it"
		else
			rung remove-released ok "QEMU released the vGPU and runs on"
		fi
	elif ! kill -0 "$rm_pid" 2>/dev/null; then
		rung remove-released FAIL "the removal completed only because QEMU exited"
	else
		rung remove-released FAIL "QEMU still holds the vGPU"
	fi
	if kill -0 "$QEMU_PID" 2>/dev/null; then
		echo "# quitting QEMU"
		mon quit
	fi
	sleep 2
	kill -0 "$QEMU_PID" 2>/dev/null && kill "$QEMU_PID"
}

# The cost of one submission from user space through VFIO (rgvt_engine's
# empty batches and back-to-back workloads), to print next to the nested
# one (l2i915); a measure, not a rung.
step_direct() {
	echo "# submission cost, direct: rgvt_engine (ELSP write to CSB event)"
	rgvt_engine -t empty_batch_completes_on_every_engine -t throughput 2>&1 |
		sed -n -E 's/^# (rcs0|bcs0|vcs0|vecs0|throughput)(:.*)/# direct: \1\2/p'
}

step_unload() {
	if module_unload; then
		left=
		for p in /sys/kernel/rgvt /sys/kernel/debug/rgvt /sys/class/rgvt "$PARENT" "$DEVICES"/*; do
			[ -e "$p" ] && left="$left $p"
		done
		check module-unload [ -z "$left" ] || echo "# left behind:$left"
	else
		rung module-unload FAIL
	fi
}

main() {
	echo "RGVT-NESTED-BEGIN"
	[ -e /dev/kvm ] && echo "# /dev/kvm present" || echo "# no /dev/kvm"
	check module-load module_load || { dump_dmesg; return 1; }
	step_direct
	step_mdevctl
	UUID=$(new_uuid)
	# The relax window is host time: a trapped write costs ~50 us here
	# (KVM in a TCG guest), tens of times a machine's, so segmented and
	# dynamic count writes over 20 ms instead of 1 ms (new vGPUs take it).
	echo 20000000 >/sys/kernel/rgvt/relax_window_ns
	check vgpu-create sh -c "echo $UUID >$PARENT/mdev_supported_types/$TYPE/create" || {
		dump_dmesg
		return 1
	}
	step_tcg
	step_kvm
	step_unload
	echo "RGVT-NESTED-END"
	dump_dmesg
}

main
