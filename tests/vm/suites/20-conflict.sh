#!/bin/bash
# VM suite "conflict": rodp refuses a device in a namespace whose RoCE
# port (UDP 4791) another driver holds.  In the initial namespace
# rdma_rxe (rxe0 on ve2) owns port 4791, so `rdma link add ... netdev ve2`
# must fail, say why in the kernel log and break nothing.
set -u
. "$(dirname "$0")/../harness/tap.sh"

plan 6

check "rodp.ko is loaded" test -d /sys/module/rodp

mark=$(kmsg_mark "conflict: rodpX on ve2, where rxe holds UDP 4791")
if out=$(rdma link add rodpX type rodp netdev ve2 2>&1); then
	fail "rdma link add rodpX netdev ve2 fails"
	rdma link del rodpX
else
	pass "rdma link add rodpX netdev ve2 fails"
fi
diag "rdma said: $out"
log=$(kmsg_since "$mark")
if grep -Eqi '4791|in use' <<<"$log"; then
	pass "the kernel log says port 4791 is in use"
else
	fail "the kernel log says port 4791 is in use"
	printf '%s\n' "$log" | sed 's/^/#   /'
fi
diag "kernel: $(grep -Ei '4791|in use' <<<"$log" | head -n 3)"

if rdma link show rodpX/1 >/dev/null 2>&1; then
	fail "no rodpX device is left behind"
else
	pass "no rodpX device is left behind"
fi
is "rxe0 stays PORT_ACTIVE" "$(port_attr rxe0 state)" PORT_ACTIVE
is "rodp0 stays PORT_ACTIVE" "$(port_attr rodp0 state)" PORT_ACTIVE

done_testing
