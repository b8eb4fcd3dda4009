# Host side of the QEMU runs, shared by run-kselftests.sh, demo.sh and bench-trap.sh:
# building the module, staging the guest, reading its console log. Sourced, not run.
# shellcheck shell=bash
# shellcheck source=tools/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RGVT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RGVT_TOOLS=$RGVT_ROOT/tools

# Kernel messages that fail a run wherever they appear in the console log.
# "Call Trace:" between the lines "rgvt-selftest: expect-trace-begin" and
# "...-end" (a test writes them to /dev/kmsg) is expected and allowed.
SPLAT_RE='BUG:|WARNING:|KASAN:|UBSAN:|kernel BUG at|Oops:|general protection fault|Kernel panic|Call Trace:'
SPLAT_RE+='|possible circular locking|possible recursive locking|inconsistent lock state'
SPLAT_RE+='|suspicious RCU usage|unreferenced object|blocked for more than|self-detected stall'
SPLAT_RE+='|detected stalls on CPUs'
# SLUB debugging reports a corrupted object as "BUG <cache> (<taint>): ...".
SPLAT_RE+='|BUG [^ ]+ \((Not t|T)ainted'

# build_guest_prog KDIR SRC OUT: a C program for the test guest, static (the
# guest has no C library), warnings as errors, against KDIR's UAPI headers
# when it has them, rgvt's UAPI and the selftests' headers (the gen9 guest
# driver rgvt_gpu.h).
build_guest_prog() {
	local kdir=$1 src=$2 out=$3 khdr=()
	[[ -d "$kdir/usr/include/linux" ]] && khdr=(-isystem "$kdir/usr/include")
	log "building $(basename "$out") (static)"
	${CC:-gcc} -static -O2 -g -Wall -Wextra -Werror "${khdr[@]}" \
		-I"$RGVT_ROOT/include/uapi" -I"$RGVT_ROOT/selftests/rgvt" \
		-o "$out" "$src" >&2 || die "$(basename "$src") build failed"
}

# build_module KDIR: build rgvt.ko out of tree against KDIR; print its path.
build_module() {
	local kdir=$1
	[[ -f "$RGVT_ROOT/Makefile" ]] ||
		die "no top-level Makefile in $RGVT_ROOT: rgvt.ko cannot be built here (use --module PATH)"
	local stamp=$RGVT_ROOT/build/module-kdir
	# Objects built against another kernel tree are not rebuilt by kbuild on
	# their own (the base and debug trees differ in Rust metadata): clean first.
	if [[ "$(cat "$stamp" 2>/dev/null)" != "$kdir" ]]; then
		make -s -C "$RGVT_ROOT" KDIR="$kdir" "${KMAKE_RUST[@]}" clean >&2
	fi
	log "building rgvt.ko against $kdir"
	make -C "$RGVT_ROOT" KDIR="$kdir" "${KMAKE_RUST[@]}" >&2 || die "rgvt.ko build failed"
	mkdir -p "${stamp%/*}"
	echo "$kdir" >"$stamp"
	[[ -f "$RGVT_ROOT/rgvt.ko" ]] || die "the build did not produce $RGVT_ROOT/rgvt.ko"
	echo "$RGVT_ROOT/rgvt.ko"
}

# module_name KO: the name the kernel gives the module (its file name).
module_name() {
	local name
	name=$(basename "$1" .ko)
	echo "${name//-/_}"
}

# write_guest_env FILE KO [PARENT]: the settings /init exports to the guest job.
write_guest_env() {
	local file=$1 ko=$2 parent=${3:-} name
	name=$(module_name "$ko")
	if [[ -z "$parent" ]]; then
		# rgvt's sim backend registers sim0; stand-ins (mtty) name it after themselves.
		if [[ "$name" == rgvt ]]; then parent=sim0; else parent=$name; fi
	fi
	cat >"$file" <<-EOF
		export RGVT_KO=/lib/modules/$(basename "$ko")
		export RGVT_MODULE=$name
		export RGVT_PARENT=$parent
	EOF
}

# The initramfs.sh arguments every guest job needs.
# shellcheck disable=SC2034 # used by the scripts that source this file
GUEST_FILES=(
	-f "$RGVT_ROOT/tools/guest/lib.sh:/etc/rgvt/lib.sh"
	-f "$RGVT_ROOT/tools/guest/timeout:/usr/bin/timeout"
)

# The lock classes of VFIO's legacy type1 container whose inversion is
# type1's own (Documentation/rgvt/design.rst, "Pins and unpins run under no
# lock of ours"): type1 takes iommu->lock -> device_list_lock and calls a
# driver's dma_unmap under device_list_lock, where unpinning, which type1
# requires, takes iommu->lock. Lockdep reports it for any driver that pins.
TYPE1_OWN_LOCKS='&iommu->lock &iommu->device_list_lock'

# upstream_filter LOG: the log with each lockdep "circular locking" report
# whose every lock class is one of TYPE1_OWN_LOCKS replaced by one line
# "RGVT-KNOWN-UPSTREAM: ..."; any report naming another lock (rgvt's, or
# anyone else's) is passed through whole, to be judged as a splat.
upstream_filter() {
	awk -v own="$TYPE1_OWN_LOCKS" '
		BEGIN { n = split(own, o, " "); for (i = 1; i <= n; i++) ok[o[i]] = 1 }
		function flush(known, i) {
			if (known)
				print "RGVT-KNOWN-UPSTREAM: lockdep: type1 container, iommu->lock vs device_list_lock (no rgvt lock)"
			else
				for (i = 1; i <= nb; i++) print buf[i]
			nb = 0; inrep = 0
		}
		/WARNING: possible circular locking dependency detected/ { inrep = 1; foreign = 0; classes = 0 }
		!inrep { print; next }
		{
			buf[++nb] = $0
			line = $0
			while (match(line, /\((&[^(){}]+)\)\{/)) {
				c = substr(line, RSTART + 1, RLENGTH - 3)
				classes++
				if (!(c in ok)) foreign = 1
				line = substr(line, RSTART + RLENGTH)
			}
			if ($0 ~ /<\/TASK>/) flush(classes > 0 && !foreign)
		}
		END { if (inrep) flush(0) }
	' "$1"
}

# scan_splats LOG: print each (distinct) kernel splat line; fail if there is
# one. Known upstream reports (upstream_filter) are printed to stderr, once,
# and do not fail.
scan_splats() {
	local filtered
	filtered=$(mktemp)
	upstream_filter "$1" >"$filtered"
	grep -m1 '^RGVT-KNOWN-UPSTREAM' "$filtered" >&2 || true
	awk -v re="$SPLAT_RE" '
		/rgvt-selftest: expect-trace-begin/ { expected = 1 }
		/rgvt-selftest: expect-trace-end/ { expected = 0 }
		$0 ~ re {
			if (expected && $0 ~ /Call Trace:/)
				next
			if (!seen[$0]++)
				print
			n++
		}
		END { exit n > 0 }
	' "$filtered"
	local rc=$?
	rm -f "$filtered"
	return "$rc"
}

# between LOG BEGIN END: the lines strictly between the first line starting
# with BEGIN and the next one starting with END (or the end of the log).
between() {
	awk -v b="$2" -v e="$3" '
		on && index($0, e) == 1 { exit }
		on { print }
		index($0, b) == 1 { on = 1 }
	' "$1"
}

# guest_job WORK KDIR MODULE JOB QEMU_ARGS -- [-f SRC:DST]...: builds the
# initramfs of a guest job (busybox, /init, the guest helpers, WORK/env that
# the caller wrote, the module, JOB as /etc/rgvt/job.sh, the extra files) and
# boots it with qemu-run.sh QEMU_ARGS, logging to WORK/console.log.
# Returns qemu-run.sh's status.
guest_job() {
	local work=$1 kdir=$2 module=$3 job=$4
	shift 4
	local qargs=()
	while (($#)) && [[ "$1" != -- ]]; do
		qargs+=("$1")
		shift
	done
	(($#)) && shift
	"$RGVT_TOOLS/initramfs.sh" -o "$work/initramfs.cpio.gz" -i "$RGVT_TOOLS/guest/init.sh" \
		"${GUEST_FILES[@]}" "$@" \
		-f "$job:/etc/rgvt/job.sh" \
		-f "$work/env:/etc/rgvt/env" \
		-f "$module:/lib/modules/$(basename "$module")"
	"$RGVT_TOOLS/qemu-run.sh" "${qargs[@]}" --log "$work/console.log" \
		"$kdir" "$work/initramfs.cpio.gz"
}

# job_verdict LOG QRC WHAT: fails (status 1, with the reasons on stderr) if
# the kernel log has splats or the guest job WHAT exited non-zero.
job_verdict() {
	local logfile=$1 qrc=$2 what=$3 status=0 splats
	if ! splats=$(scan_splats "$logfile"); then
		log "the kernel log has splats:"
		printf '%s\n' "$splats" | head -n 40 >&2
		status=1
	fi
	if ((qrc != 0)); then
		log "the $what failed (guest status $qrc; log: $logfile)"
		status=1
	fi
	return "$status"
}
