#!/bin/bash
# Shared by the suites that run rdma-core's own python tests
# (59-conformance.sh, 59-flush.sh); sourced after tap.sh.

# rdma_core_tests NAME: rdma-core's tests/ folder, as python3-pyverbs
# ships it, unpacked into a fresh $work/tests (removed on exit), $work
# set.  Without it, the suite's one case fails and the suite ends.
rdma_core_tests()
{
	local src=/usr/share/doc/rdma-core/tests

	work=$(mktemp -d "/tmp/$1.XXXXXX")
	# shellcheck disable=SC2064 # $work is fixed now
	trap "rm -rf '$work'" EXIT
	if [ ! -f "$src/run_tests.py" ]; then
		plan 1
		fail "rdma-core's tests in $src (python3-pyverbs; ./rodp setup)"
		exit 1
	fi
	cp -r "$src" "$work/tests"
	find "$work/tests" -name '*.gz' -exec gunzip {} +
}
