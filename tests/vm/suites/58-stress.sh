#!/bin/bash
# VM suite "stress": a short campaign of perftest/rodp-exit-stress (the
# tool behind `./rodp stress`): 3 cycles of each scenario (sigkill,
# exit0, abort, prefetch, inval, mt, fuse, fork, import, oom, teardown,
# faultunmap)
# with rodp0 the victim's device,
# against rodp1 and against rxe0.  Each cycle forks a victim and a
# survivor, runs a transfer between them and ends the victim in the
# middle of it as its scenario says; the tool then checks its
# invariants (victim-exit, survivor, kernel-log through logcheck.py,
# rdma-res, module-ref, mm-refs from debugfs rodp/mm_refs, d-state,
# zombie) and writes one row per cycle.  A scenario passes when its 3
# cycles ran and passed.
#
# First the checks themselves: with --self-test the tool breaks five
# invariants on purpose before the checks of each cycle (a leaked PD and
# ODP MR, a zombie, a task in D state, a WARNING line), and both cycles
# must fail with exactly those five named.  And for each pair the tool
# must have read its baselines: the mm_refs file and the rdma resource
# counts, with logcheck.py as the kernel log check.
#
# RODP_STRESS_SEED=S repeats a run (the seed is printed);
# RODP_STRESS_CYCLES=N runs N cycles of each scenario per pair (default
# 3: about 2.5 minutes under TCG; more needs a RODP_SUITE_TIMEOUT to
# match).  The tool's output and results stay in
# $RODP_VM_RUN/suites/stress/.
# rodp-suite-timeout: 480
set -u
# shellcheck source=tests/vm/harness/tap.sh
. "$RODP_REPO/tests/vm/harness/tap.sh"

TOOL=$RODP_REPO/build/cmake/perftest/rodp-exit-stress
# The kernel starts the core_pattern helper in PID 1's root, the
# initramfs, where the repository is /repo (tests/vm/harness/init).
HELPER=/repo/build/cmake/perftest/rodp-core-helper
TEARDOWN=$RODP_REPO/perftest/stress-teardown.sh
SCENARIOS="sigkill exit0 abort prefetch inval mt fuse fork import oom teardown
	faultunmap"
PAIRS="rodp0:rodp1 rodp0:rxe0"
SEED=${RODP_STRESS_SEED:-$(date +%s)}
PER=${RODP_STRESS_CYCLES:-3}
if [ -n "${RODP_VM_RUN:-}" ]; then
	DIR=$RODP_VM_RUN/suites/stress
else
	DIR=$(mktemp -d /tmp/stress.XXXXXX)
fi
rm -rf "$DIR"
mkdir -p "$DIR"

plan $((2 + $(wc -w <<<"$PAIRS") * (1 + $(wc -w <<<"$SCENARIOS"))))
debugfs_mounted
# fuse: rodp-stallfs needs the fuse module.
kroot=$RODP_REPO/build/deps/$(uname -r)/root
# oom: swap for its reclaim.
if [ -x "$TOOL" ] && rxe_reload &&
   { [ -e /dev/fuse ] || modprobe -d "$kroot" fuse; } && zram_swap 64; then
	pass "set-up: rdma_rxe reloaded, fuse loaded, swap on, rodp-exit-stress built"
else
	fail "set-up: rdma_rxe reloaded, fuse loaded, swap on, rodp-exit-stress built"
	exit 1
fi
diag "seed $SEED (RODP_STRESS_SEED=$SEED repeats this run)"

# The checks can fail: --self-test cycles fail naming what was broken.
"$TOOL" --dev rodp0 --peer-dev rodp1 --cycles 2 --scenario sigkill \
	--seed "$SEED" --out "$DIR/self-test" --self-test \
	>"$DIR/self-test.out" 2>&1
rc=$?
want="rdma-res,mm-refs,d-state,zombie,kernel-log"
got=$(awk -F'\t' 'NR > 1 { print $15 " " $16 }' \
	"$DIR/self-test/cycles.tsv" 2>/dev/null)
if [ $rc = 1 ] && [ "$got" = "FAIL $want"$'\n'"FAIL $want" ]; then
	pass "self-test: the invariants broken on purpose are caught ($want)"
else
	fail "self-test: the invariants broken on purpose are caught ($want)"
	diag "exit $rc; cycles (result, broken):"
	printf '%s\n' "$got" | sed 's/^/#   /'
	tail -n 15 "$DIR/self-test.out" | sed 's/^/#   /'
fi

for pair in $PAIRS; do
	dev=${pair%%:*} peer=${pair#*:}
	out=$DIR/$dev-$peer
	args=()
	for s in $SCENARIOS; do
		args+=(--scenario "$s")
	done
	# A slow kernel: 1 s ACK timeouts (perftest/stress-guest.sh says why)
	qto=()
	[ "${RODP_TIME_SCALE:-1}" = 1 ] || qto=(--qp-timeout 18)
	"$TOOL" --dev "$dev" --peer-dev "$peer" --seed "$SEED" --out "$out" \
		--slack-ms $((3000 * ${RODP_TIME_SCALE:-1})) "${qto[@]}" \
		--cycles $((PER * $(wc -w <<<"$SCENARIOS"))) \
		--core-helper "$HELPER" --teardown-script "$TEARDOWN" \
		"${args[@]}" >"$out.out" 2>&1
	rc=$?
	diag "$dev <-> $peer: exit $rc"
	sed -n '/^scenario /,/^this run/p;/^rodp0 <->/p' "$out.out" |
		sed 's/^/#   /'
	# The tool read its baselines and used logcheck.py.
	base=$(grep -m1 '^  baseline:' "$out.out")
	if grep -q "^  kernel log: .*/logcheck.py$" "$out.out" &&
	   [[ $base == *"mm_refs: grabs 0 gets 0 umems 0"* ]] &&
	   [[ $base == *"$dev: pd "*" | $peer: pd "* ]]; then
		pass "$dev <-> $peer: baselines read (rdma resources, mm_refs), kernel log through logcheck.py"
	else
		fail "$dev <-> $peer: baselines read (rdma resources, mm_refs), kernel log through logcheck.py"
		head -n 5 "$out.out" | sed 's/^/#   /'
	fi
	for s in $SCENARIOS; do
		rows=$(awk -F'\t' -v s="$s" 'NR > 1 && $5 == s' \
			"$out/cycles.tsv" 2>/dev/null)
		n=$(grep -c . <<<"$rows")
		bad=$(awk -F'\t' '$15 != "PASS"' <<<"$rows")
		name="$dev <-> $peer $s: $PER cycles, every invariant held"
		if [ "$n" = "$PER" ] && [ -z "$bad" ]; then
			pass "$name"
		else
			fail "$name"
			diag "$n cycles; failed (cycle variant mem op victim: broken: detail):"
			awk -F'\t' '{ print "#   " $1 " " $18 " " $6 " " $7 " " \
				$8 ": " $16 ": " $17 }' <<<"$bad"
		fi
		awk -F'\t' '{ print "#   cycle " $1 " " ($18 == "-" ? "" : \
			$18 " ") $6 " " $7 " victim " $8 " " $10 \
			", survivor " $11 " " $12 " ms" }' <<<"$rows"
	done
done
diag "the tool's output and results: $DIR"
zram_swap_off
done_testing
