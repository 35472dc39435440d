#!/bin/bash
# VM suite "flush": RDMA FLUSH across devices (tests/vm/conformance/
# flush_pairs.py), with rdma-core's own FLUSH resources and traffic
# (tests/test_qpex.py) from the tests/ folder python3-pyverbs ships:
# rodp0 -> rodp1, rodp0 loopback, rodp0 -> rxe0, rxe0 -> rodp0 and
# rxe0 -> rxe0 (the control).  Each: WRITEs then range FLUSHes (success,
# the data there), whole-MR FLUSHes (success), a persistent FLUSH the MR
# does not allow (REM_ACCESS_ERR).  Skipped, with the reason, where the
# user space (rdma-core before 45: Debian 12's 44) or the kernel (before
# 6.2) has no FLUSH.
# rodp-suite-timeout: 300
set -u
# shellcheck source=tests/vm/harness/tap.sh
. "$RODP_REPO/tests/vm/harness/tap.sh"

# shellcheck source=tests/vm/conformance/lib.sh
. "$RODP_REPO/tests/vm/conformance/lib.sh"
rdma_core_tests flush
timeout 240 python3 "$RODP_REPO/tests/vm/conformance/flush_pairs.py" \
	"$work/tests"
