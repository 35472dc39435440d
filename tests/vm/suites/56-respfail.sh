#!/bin/bash
# VM suite "respfail": tests/vm/progs/rodp_respfail.c, what a rodp
# responder sends when the memory behind an RDMA READ or an atomic fails
# it, with rxe0 as the requester: an injected ODP fault (debugfs
# rodp/inject/odp_fault: the path of an address space that is gone) or an
# unmapped range, at the first response and in the middle of a read's
# response stream.  Every packet rodp0 sends to rxe0 is captured on ve2
# and checked in order: a stream cut short must stop without a NAK (rxe
# on 6.1 WARNs on a NAK in the middle of a read response stream), a
# failure at the first response is one NAK (remote operational error for
# the gone address space, remote access error for an unmapped range).
# And a fault that fails for the moment only (rodp/inject/odp_busy) under
# a WRITE and a FETCH_ADD: one RNR NAK, then the retry completes; and
# under a READ's response into rodp0's own ODP buffer: dropped, asked
# again, complete; and a FETCH_ADD from rodp1 (rodp's own requester takes
# the RNR NAK).
# rdma_rxe is reloaded first, so that its WARN_ON_ONCE() in
# rxe_completer() can fire in this suite's part of the kernel log.
set -u
# shellcheck source=tests/vm/harness/tap.sh
. "$RODP_REPO/tests/vm/harness/tap.sh"

if ! rxe_reload || ! debugfs_mounted; then
	plan 1
	fail "set-up: reload rdma_rxe, mount debugfs"
	exit 1
fi
"$RODP_REPO/build/cmake/tests/vm/rodp_respfail"
rc=$?
# Disarmed whatever happened: a countdown left behind would fail a fault
# of a later suite.
echo 0 >/sys/kernel/debug/rodp/inject/odp_fault
echo 0 >/sys/kernel/debug/rodp/inject/odp_busy
exit $rc
