#!/usr/bin/env bash
# Run every rgvt test: the README's test command, and what CI runs.
#
#   tools/test.sh [--base | --debug] [--kvm]
#
#   1. host: rustfmt and clippy (core and module, with the kernel's clippy),
#      `cargo test` for the core (unit, property and layout tests);
#   2. for the base kernel, then the debug kernel (tools/kernel.sh --debug:
#      KASAN, kmemleak, lockdep, SLUB debugging, KFENCE, fault injection;
#      built by LLVM): builds it (cached) and rgvt.ko with no warnings, boots
#      it in QEMU and runs the kselftests (tools/run-kselftests.sh);
#   3. nested: Debian's QEMU with KVM inside the test guest on a vGPU, a
#      second-level guest with its stock i915, mdevctl (tools/run-nested.sh);
#      each rung counts as one test.
#
#   --base   the base kernel only (steps 2 and 3); --debug the debug kernel
#            only (step 2; the nested stage then runs on the base kernel)
#
# Ends with one line "total: N passed, N failed, N skipped" and exits non-zero
# if anything failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/lib.sh"

kernels=(base debug) ks_args=()
for a in "$@"; do
	case "$a" in
	--base) kernels=(base) ;;
	--debug) kernels=(debug) ;;
	--kvm) ks_args+=("$a") ;;
	*) die "usage: $0 [--base | --debug] [--kvm]" ;;
	esac
done

passed=0 failed=0 skipped=0
step() { log "== $*"; }
fail() { log "FAILED: $*"; failed=$((failed + 1)); }
ok() { passed=$((passed + 1)); }

"$here/setup.sh"
cd "$root"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

step "rustfmt"
if cargo fmt --all --check >"$out/fmt" 2>&1 &&
	rustfmt --edition 2021 --check rust/rgvt.rs >>"$out/fmt" 2>&1; then ok; else
	cat "$out/fmt" >&2
	fail "rustfmt (run: cargo fmt --all && rustfmt --edition 2021 rust/rgvt.rs)"
fi

step "clippy (core, host)"
if cargo clippy -q --all-targets --all-features -- -D warnings >"$out/clippy" 2>&1; then ok; else
	cat "$out/clippy" >&2
	fail "cargo clippy"
fi

step "cargo test (core)"
cargo test --all-features 2>&1 | tee "$out/cargo-test" >&2 || true
read -r cp cf < <(awk '/^test result:/ { p += $4; f += $6 } END { print p + 0, f + 0 }' "$out/cargo-test")
if grep -q '^test result: FAILED\|^error' "$out/cargo-test" || ((cp == 0)); then
	fail "cargo test"
fi
passed=$((passed + cp)) failed=$((failed + cf))

for kernel in "${kernels[@]}"; do
	k_args=()
	# The debug kernel (KASAN, lockdep, kmemleak) runs the same programs
	# 4-5 times slower: about 15 minutes on 2 loaded cores.
	t_args=()
	[[ $kernel == base ]] || k_args=(--debug) t_args=(--timeout 2400)

	step "$kernel kernel and rgvt.ko (clippy as the compiler, warnings are errors)"
	kdir=$("$here/kernel.sh" "${k_args[@]}")
	make -s clean KDIR="$kdir" >/dev/null 2>&1 || true
	# Rust warnings, objtool warnings ("falls through", unreachable code) and
	# modpost warnings all count.
	if make clippy KDIR="$kdir" >"$out/kbuild" 2>&1 && ! grep -qi 'warning\|^error' "$out/kbuild"; then ok; else
		cat "$out/kbuild" >&2
		fail "module build ($kernel kernel)"
	fi

	step "kselftests in QEMU ($kernel kernel)"
	"$here/run-kselftests.sh" "${k_args[@]}" "${t_args[@]}" "${ks_args[@]}" 2>&1 | tee "$out/kselftest" ||
		fail "kselftest run ($kernel kernel)"
	if read -r kp kf ks < <(sed -n 's/^kselftest: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' "$out/kselftest" | tail -n1) &&
		[[ -n "${kp:-}" ]]; then
		passed=$((passed + kp)) failed=$((failed + kf)) skipped=$((skipped + ks))
	else
		fail "kselftest summary missing ($kernel kernel)"
	fi
done

step "nested real-client test (QEMU/KVM and i915 on a vGPU, in QEMU)"
"$here/run-nested.sh" 2>&1 | tee "$out/nested" || true
if read -r np nf ns < <(sed -n 's/^nested: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' "$out/nested" | tail -n1) &&
	[[ -n "${np:-}" ]]; then
	passed=$((passed + np)) failed=$((failed + nf)) skipped=$((skipped + ns))
	((nf == 0)) || log "FAILED: $nf nested rung(s): $(sed -n 's/^RGVT-NESTED-RUNG \([^ ]*\) FAIL.*/\1/p' "$out/nested" | tr '\n' ' ')"
else
	fail "nested summary missing"
fi

echo "total: $passed passed, $failed failed, $skipped skipped"
((failed == 0))
