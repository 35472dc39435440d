#!/bin/bash
# VM suite "mw": tests/vm/mw_test.c, memory windows and R_Key invalidation
# (cmocka, TAP).
#
# Every rodp pairing (rodp0:rodp1 across namespaces, rodp0:rodp0 on one
# device, rodp0:rxe0 and rxe0:rodp0 against the kernel's soft-RoCE) plus
# rxe0:rxe0 as the control, over IPv4 GIDs; then the rodp pairings again
# over IPv6 (link-local GIDs, mw_test --ipv6).  The two runs are one TAP
# stream (tap_run renumbers).
set -u
# shellcheck source=tests/vm/harness/tap.sh
. "$RODP_REPO/tests/vm/harness/tap.sh"

MW_TEST=$RODP_REPO/build/cmake/tests/vm/mw_test
export CMOCKA_MESSAGE_OUTPUT=TAP

run1=(rodp0:rodp1 rodp0:rodp0 rodp0:rxe0 rxe0:rodp0 rxe0:rxe0)
run2=(--ipv6 rodp0:rodp1 rodp0:rodp0 rodp0:rxe0 rxe0:rodp0)

n1=$("$MW_TEST" --count "${run1[@]}") || n1=0
n2=$("$MW_TEST" --count "${run2[@]}") || n2=0
plan $((n1 + n2))
tap_run "$n1" "$MW_TEST" "${run1[@]}"
tap_run "$n2" "$MW_TEST" "${run2[@]}"
done_testing
