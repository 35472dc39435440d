#!/bin/bash
# VM suite "conformance": rdma-core 44's own verbs tests (the tests/
# folder python3-pyverbs ships, as run_tests.py runs them), on rxe0 as the
# control and on rodp0 (tests/vm/conformance/).  Every test rodp0 runs
# must pass; every test rxe0 passes, rodp0 must pass too, or the test is
# a known gap listed in conformance/pyverbs-gaps.txt (a TAP skip).
# rodp-suite-timeout: 600
set -u
# shellcheck source=tests/vm/harness/tap.sh
. "$RODP_REPO/tests/vm/harness/tap.sh"

C=$RODP_REPO/tests/vm/conformance
# shellcheck source=tests/vm/conformance/lib.sh
. "$C/lib.sh"
rdma_core_tests conformance

# Each device from the namespace of its netdev (rxe0: ve2 in the initial
# one; rodp0: ve0 in ns0), as a program that talks to it over rdma_cm
# must be: the rdma_cm tests look up the device's netdev and its address
# there, and skip ("doesn't have net interface") where they cannot.
for dev in rxe0 rodp0; do
	ns=()
	[ "$dev" = rodp0 ] && ns=(ip netns exec ns0)
	timeout 240 "${ns[@]}" python3 "$C/pyverbs_run.py" "$work/tests" "$dev" \
		"$work/$dev.tsv" >"$work/$dev.log" 2>&1 ||
		{ echo "# $dev: the run ended with status $?"; tail -5 "$work/$dev.log" | sed 's/^/# /'; }
	[ -f "$work/$dev.tsv" ] || : >"$work/$dev.tsv"
	[ -n "${RODP_VM_RUN:-}" ] && cp "$work/$dev.tsv" "$RODP_VM_RUN/conformance-$dev.tsv"
done
python3 "$C/pyverbs_tap.py" "$work/rxe0.tsv" "$work/rodp0.tsv" \
	"$C/pyverbs-gaps.txt"
