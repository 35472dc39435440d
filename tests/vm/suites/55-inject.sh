#!/bin/bash
# VM suite "inject": tests/vm/progs/rodp_inject.c, crafted and random
# RoCEv2 packets sent from ns0 (where rodp0's address lives) through a raw
# socket at a live RC QP on rodp1: bad ICRC, truncated headers, foreign
# and reserved opcodes, wrong QPN, PSNs out of the window, a duplicate
# behind a newer request (the ACK it gets, captured on ve0), RETH beyond
# the MR, bad R_Key, payload above the path MTU, seeded fuzz.  It prints
# its own TAP plan and cases; the harness checks the kernel log.
#
# The program opens only its raw socket in ns0 (--netns ns0) and stays in
# the initial namespace: under `ip netns exec` sysfs is mounted again for
# ns0 and rodp1's hw_counters directory is not there.
# RODP_INJECT_SEED picks another fuzz seed (default 1).
set -u
exec "$RODP_REPO/build/cmake/tests/vm/rodp_inject" --netns ns0 \
	--seed "${RODP_INJECT_SEED:-1}"
