#!/usr/bin/env bash
# The rgvt demo: boot the test kernel in QEMU, load rgvt and show what it
# does with rgvtctl (tools/rgvtctl) and a small VFIO "guest driver"
# (tools/demo/gttwalk.c): the vGPU types, partitioned vs shared graphics
# memory (gScale), GGTT entries and aperture accesses checked end to end,
# the counters; then many guests on one GPU (tools/demo/manyguests.c: six
# guest drivers on S_32 vGPUs that share slots, two of them weighted 1 and
# 4, every result checked, the scheduler's shares and GTT switches); the
# tunables, and a clean unload. Then a stock guest on a
# vGPU: Debian's QEMU with KVM inside the test guest boots a second-level
# kernel whose own i915 drives the vGPU (tools/run-nested.sh). Last, on the
# host, the core's models of shadowing (gHyvi) and ballooning (gBalloon).
#
# Prints the guest's demo output (not the boot log; the whole console is in
# build/demo/console.log) and the host tables. Exits non-zero if a step
# that should work fails, or the kernel log has a splat.
#
#   tools/demo.sh [--kvm] [--no-host] [--dump FILE] [--module KO [--parent NAME]]
#
#   --kvm          boot with KVM instead of TCG
#   --no-host      skip the host-side model tables
#   --no-nested    skip the stock guest (the nested QEMU run, about 30 s)
#   --dump FILE    also write the files rgvtctl reads, from the middle of the
#                  run, to FILE (the fixture of rgvtctl's tests)
#   --module KO    demo this module instead of building rgvt.ko
#   --parent NAME  its mdev parent device (default: sim0 for rgvt)
#
# The guest side is tools/demo/guest-demo.sh: add steps there as features land.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/lib-qemu.sh
. "$here/lib-qemu.sh"

qemu_args=()
module=
parent=
host=1
nested=1
dump=

while (($#)); do
	case "$1" in
	--kvm) qemu_args+=(--kvm) ;;
	--no-host) host=0 ;;
	--no-nested) nested=0 ;;
	--dump) dump=$(realpath -m "${2:?}"); shift ;;
	--module) module=$(realpath "${2:?}"); shift ;;
	--parent) parent=${2:?}; shift ;;
	*) die "usage: $0 [--kvm] [--no-host] [--no-nested] [--dump FILE] [--module KO [--parent NAME]]" ;;
	esac
	shift
done

work=$RGVT_ROOT/build/demo
mkdir -p "$work"
start=$SECONDS

# rgvtctl, static: the guest has no C library. Its man pages and shell
# completions, generated from its clap definition, land in build/rgvtctl/.
# Prints its path.
build_rgvtctl() {
	local target=x86_64-unknown-linux-gnu sh
	local bin=$RGVT_ROOT/target/$target/release/rgvtctl out=$RGVT_ROOT/build/rgvtctl
	log "building rgvtctl (static)"
	RUSTFLAGS='-C target-feature=+crt-static' \
		cargo build -q --release --locked --target "$target" -p rgvtctl \
		--manifest-path "$RGVT_ROOT/Cargo.toml" >&2 || die "rgvtctl build failed"
	mkdir -p "$out/completions"
	"$bin" man --dir "$out/man" >/dev/null || die "rgvtctl man failed"
	for sh in bash zsh fish; do
		"$bin" completions "$sh" >"$out/completions/rgvtctl.$sh" || die "rgvtctl completions failed"
	done
	echo "$bin"
}

# The many-guests workload on selftests/rgvt/rgvt_gpu.h, static like the
# selftests (the guest has no C library). Prints its path.
build_manyguests() {
	build_guest_prog "$1" "$here/demo/manyguests.c" "$work/manyguests"
	echo "$work/manyguests"
}

# The demo's VFIO workload, static. Prints its path.
build_gttwalk() {
	local out=$work/gttwalk
	log "building gttwalk (static)"
	gcc -static -O2 -Wall -Wextra -Werror -I"$RGVT_ROOT/include/uapi" \
		-o "$out" "$here/demo/gttwalk.c" >&2 || die "gttwalk build failed"
	echo "$out"
}

# guest_output LOG: the demo's lines, without kernel messages and the dump.
guest_output() {
	between "$1" RGVT-DEMO-BEGIN RGVT-DEMO-END |
		awk '/^RGVT-DUMP-BEGIN/ { skip = 1 } !skip { print } /^RGVT-DUMP-END/ { skip = 0 }' |
		grep -Ev '^\[ *[0-9]+\.[0-9]+\] ' || true
}

# stock_guest: a real VMM and a stock guest driver on a vGPU. The nested
# test's run, shown as a user would follow it: the commands, what the
# guest's own kernel printed about the device, the checks and the counters.
stock_guest() {
	local nested=$RGVT_ROOT/build/nested status=0
	printf '\n== 8. a stock guest on a vGPU: Debian QEMU + KVM, the guest kernel'"'"'s own i915 ==\n'
	"$here/run-nested.sh" >"$work/nested.out" 2>&1 || status=1
	printf '%s\n' "In the test guest (kvm-amd inside TCG), a vGPU is created and QEMU boots a second-level" \
		"Linux on it. That kernel's i915 finds a GVT-g vGPU, balloons its GGTT from the PV page and" \
		"finishes its probe; its requests on every engine complete on rgvt's sim engine (the GT is" \
		"not wedged). A program in that guest then uses i915's own uAPI: a store-dword batch on" \
		"rcs0 and a 1 MB blitter copy on bcs0, each checked by reading the buffers back."
	grep -E '^\$ (mdevctl|qemu-system-x86_64 .*-accel kvm|echo 1 >)' "$nested/console.log" || true
	printf '\n-- the second-level kernel --\n'
	grep -E 'i915 .*\[drm\]|\[drm\] Initialized|RGVT-L2-(CHECK|INFO)' "$nested/l2.log" |
		sed -e 's/^\[ *[0-9.]*\] //' || true
	printf '\n-- the host side: the vGPU'"'"'s counters, before QEMU -> after the guest'"'"'s checks (those that moved) --\n'
	grep -E '^#   ' "$nested/console.log" | awk '$3 != $5' | sed 's/^# *//' || true
	grep -E '^RGVT-NESTED-RUNG (req-unplug-request|remove-released)' "$nested/console.log" || true
	grep -E '^nested: ' "$work/nested.out" || true
	((status == 0)) || { log "the nested run failed (log: $nested/console.log)"; return 1; }
}

# host_models: the core's benchmarks, which print their tables.
host_models() {
	local b
	printf '\n== 9. on the host: models of the core logic (cargo bench -p rgvt-core) ==\n'
	printf '%s\n' "These are host-side models and measurements of rgvt's core (the same code the module" \
		"runs), not GPU runs: the in-kernel benchmarks on the sim engine come with the write-" \
		"tracking and many-vGPU issues."
	for b in shadow gm; do
		case "$b" in
		shadow) printf '\n-- what shadowing does: trap per PTE write (strict) vs hybrid policies (gHyvi) --\n' ;;
		gm) printf '\n-- what ballooning does: static slot sizes vs gBalloon (trace-driven model) --\n' ;;
		esac
		if ! cargo bench -q -p rgvt-core --bench "$b" --manifest-path "$RGVT_ROOT/Cargo.toml" \
			2>"$work/bench-$b.log"; then
			cat "$work/bench-$b.log" >&2
			log "cargo bench --bench $b failed"
			return 1
		fi
	done
}

kdir=$("$here/kernel.sh")
[[ -n "$module" ]] || module=$(build_module "$kdir")
rgvtctl=$(build_rgvtctl)
gttwalk=$(build_gttwalk)
manyguests=$(build_manyguests "$kdir")
write_guest_env "$work/env" "$module" "$parent"
[[ -z "$dump" ]] || echo "export DEMO_DUMP=1" >>"$work/env"
qrc=0
guest_job "$work" "$kdir" "$module" "$here/demo/guest-demo.sh" \
	"${qemu_args[@]}" --quiet --timeout 300 -- \
	-f "$rgvtctl:/usr/bin/rgvtctl" \
	-f "$gttwalk:/usr/bin/gttwalk" \
	-f "$manyguests:/usr/bin/manyguests" || qrc=$?

printf '%s\n' "rgvt demo: kernel $(basename "$kdir"), module $(basename "$module")"
guest_output "$work/console.log"
if [[ -n "$dump" ]]; then
	between "$work/console.log" RGVT-DUMP-BEGIN RGVT-DUMP-END >"$dump"
	log "wrote $(grep -c '^@@FILE' "$dump") files to $dump"
fi

status=0
job_verdict "$work/console.log" "$qrc" demo || status=1
if ((nested)); then
	stock_guest || status=1
fi
if ((host)); then
	host_models || status=1
fi
log "demo took $((SECONDS - start)) s"
exit "$status"
