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
# Then one case: the kernel log of the whole run is clean (logcheck).
# rodp-suite-timeout: 300
set -u
# shellcheck source=tests/vm/harness/tap.sh
. "$RODP_REPO/tests/vm/harness/tap.sh"

IMPORT_TEST=$RODP_REPO/build/cmake/tests/vm/import_test
LOGCHECK=$RODP_REPO/tests/vm/logcheck/logcheck.py

n=$("$IMPORT_TEST" --count) || n=0
plan $((n + 1))

tag=$(kmsg_mark "import suite")
tap_run "$n" "$IMPORT_TEST"

log=$(mktemp)
kmsg_since "$tag" >"$log"
check "kernel log clean during the import runs (logcheck)" \
	python3 "$LOGCHECK" "$log"
rm -f "$log"
done_testing
