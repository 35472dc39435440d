#!/bin/bash
# VM suite "import": tests/vm/import_test.c, rdma-core's import verbs on
# rodp and a uverbs file that outlives the process that registered the
# memory (issue 14).  A registrar process registers an explicit ODP, an
# implicit ODP or a pinned MR on rodp0 and passes its uverbs file with
# SCM_RIGHTS to an importer process, which imports the device, the PD and
# the MR; the peer (rodp1 in ns1, rxe0 in the initial namespace) WRITEs
# and READs through the rkey before and after the registrar exits; the
# importer posts with the lkey, deregisters the MR, deallocates the PD.
# Bad handles are refused; a second import and ibv_unimport_* leave the
# objects alone.  ibv_rereg_mr without a new translation from a fork()ed
# child keeps the MR the registrar's memory.  rxe has no import verbs:
# rxe0 as the importing side is a skip.
#
# Then two cases: `rdma resource show` of rodp0, rodp1 and rxe0 is back
# where it was before (nothing the processes made is left), and the
# kernel log of the whole run is clean (logcheck).
# rodp-suite-timeout: 300
set -u
# shellcheck source=tests/vm/harness/tap.sh
. "$RODP_REPO/tests/vm/harness/tap.sh"

IMPORT_TEST=$RODP_REPO/build/cmake/tests/vm/import_test
LOGCHECK=$RODP_REPO/tests/vm/logcheck/logcheck.py

# res: the resource summary lines of the three devices.
res()
{
	rdma resource show | grep -E '^[0-9]+: (rodp0|rodp1|rxe0):' | sort
}

n=$("$IMPORT_TEST" --count) || n=0
plan $((n + 2))

before=$(res)
tag=$(kmsg_mark "import suite")
tap_run "$n" "$IMPORT_TEST"

# Objects are freed as their files close: give the last ones a moment.
if wait_for 10 test "$(res)" = "$before"; then
	pass "rdma resource back at its baseline on rodp0, rodp1, rxe0"
else
	fail "rdma resource back at its baseline on rodp0, rodp1, rxe0"
	diag "before: $before"
	diag "after:  $(res)"
fi

log=$(mktemp)
kmsg_since "$tag" >"$log"
check "kernel log clean during the import runs (logcheck)" \
	python3 "$LOGCHECK" "$log"
rm -f "$log"
done_testing
