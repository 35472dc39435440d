#!/bin/bash
# VM suite "rc": tests/vm/rc_test.c, the RC data path (cmocka, TAP).
#
# All four rodp pairings (rodp0:rodp1 across namespaces, rodp0:rodp0 on
# one device, rodp0:rxe0 and rxe0:rodp0 against the kernel's soft-RoCE)
# plus rxe0:rxe0 as the control, at the default MTU 1500 (path MTU 1024,
# and 256), with one 256 MiB write+read on rodp0:rodp1.  Then every link
# goes to MTU 9000 for the "mtu 4096" tests and back to 1500.  Last, the
# four rodp pairings again over IPv6 (link-local GIDs, rc_test --ipv6).
#
# The three runs of rc_test are one TAP stream: the plan is counted first
# (rc_test --count), each run's own plan line is dropped and its cases are
# renumbered (tap_run).
#
# Its 256 MiB WRITE and READ take most of ten minutes on the debug
# kernel (under 1 MB/s with KASAN under TCG), hence the bound.
# rodp-suite-timeout: 600
set -u
# shellcheck source=tests/vm/harness/tap.sh
. "$RODP_REPO/tests/vm/harness/tap.sh"

RC_TEST=$RODP_REPO/build/cmake/tests/vm/rc_test
PAIRS=(rodp0:rodp1 rodp0:rodp0 rodp0:rxe0 rxe0:rodp0 rxe0:rxe0)
export CMOCKA_MESSAGE_OUTPUT=TAP

run1=(--big rodp0:rodp1 "${PAIRS[@]}")
run2=(--mtu 4096 --only '*mtu 4096' "${PAIRS[@]}")
# RoCEv2 over IPv6: the link-local GIDs, every test kind, each pairing
# with a rodp end.
run3=(--ipv6 rodp0:rodp1 rodp0:rodp0 rodp0:rxe0 rxe0:rodp0)

# set_mtu MTU: every link of the topology.
set_mtu()
{
	local dev
	for dev in ve0p ve1p ve2p ve2 br0; do
		ip link set "$dev" mtu "$1"
	done
	ip -n ns0 link set ve0 mtu "$1"
	ip -n ns1 link set ve1 mtu "$1"
}

all_at()
{
	local dev
	for dev in rodp0 rodp1 rxe0; do
		port_is "$dev" active_mtu "$1" || return 1
	done
}

n1=$("$RC_TEST" --count "${run1[@]}") || n1=0
n2=$("$RC_TEST" --count "${run2[@]}") || n2=0
n3=$("$RC_TEST" --count "${run3[@]}") || n3=0
plan $((n1 + n2 + n3 + 2))

tap_run "$n1" "$RC_TEST" "${run1[@]}"

set_mtu 9000
if wait_for 10 all_at 4096; then
	pass "all ports at active_mtu 4096 with MTU 9000"
else
	fail "all ports at active_mtu 4096 with MTU 9000"
	for d in rodp0 rodp1 rxe0; do
		diag "$d active_mtu $(port_attr "$d" active_mtu)"
	done
fi
tap_run "$n2" "$RC_TEST" "${run2[@]}"
set_mtu 1500
if wait_for 10 all_at 1024; then
	pass "all ports back at active_mtu 1024"
else
	fail "all ports back at active_mtu 1024"
fi
tap_run "$n3" "$RC_TEST" "${run3[@]}"
done_testing
