#!/bin/bash
# VM suite "kverbs": kernel consumers' QPs, CQs and SRQs on rodp.
# rodp-suite-timeout: 600
#
# tests/vm/kmod/rodp_ktest.ko drives the kernel verbs as a kernel ULP
# does: at insmod it runs its cases over the pairing it is given and
# writes one "ok - NAME" / "not ok - NAME: why" line per case to
# /sys/kernel/debug/rodp_ktest/result.  Pairings: rodp0:rodp1 (across
# namespaces: kernel verbs do not see them), rodp0:rodp0 (one device),
# rodp0:rxe0 and rxe0:rodp0 (against the kernel's soft-RoCE); IPv4 RoCE
# v2 GIDs.  Per pairing (see rodp_ktest.c): RC QPs with CQs in each poll
# context (direct, softirq, workqueue, unbound workqueue), SEND (with
# immediate, inline), RDMA WRITE (with immediate), RDMA READ, atomics,
# the data checked byte for byte (and on UC QPs: SEND and WRITE, without
# READ and atomics); posts with interrupts off; chained
# posts from a softirq CQ handler; ib_drain_qp() flushing receives; UD
# through AHs made with interrupts off and sleepable; an SRQ with its
# limit and LAST_WQE_REACHED events (when B is rodp); malformed posts
# (errno and bad_wr, when A is rodp); fast registration: A's MR over
# four non-contiguous pages at an offset, B's WRITE and READ through the
# R_Key, A's SEND through the L_Key, LOCAL_INV and B's SEND_WITH_INV
# (flag and R_Key) each followed by a refused access, a new key byte;
# when A is rodp also SEND_WITH_INVs of keys nothing invalidatable backs,
# the capabilities, the refused registrations and invalidations, and a
# deregistration with the peer's WRITEs in flight
# (rodp_ktest.c).  After each
# pairing, rmmod rodp_ktest must leave `rdma resource show` as it was
# before insmod.  The harness checks the kernel log (no WARN, lockdep
# report or hung task).
set -u
# shellcheck source=tests/vm/harness/tap.sh
. "$(dirname "$0")/../harness/tap.sh"

KO=$RODP_KTEST_KO
RESULT=/sys/kernel/debug/rodp_ktest/result

# PAIRING -> the number of cases rodp_ktest reports for it.
PAIRINGS=(rodp0:rodp1 rodp0:rodp0 rodp0:rxe0 rxe0:rodp0)
declare -A EXPECT=(
	[rodp0:rodp1]=71
	[rodp0:rodp0]=71
	[rodp0:rxe0]=56
	[rxe0:rodp0]=46
)
total=0
for p in "${PAIRINGS[@]}"; do
	total=$((total + EXPECT[$p] + 2))
done
plan "$total"

debugfs_mounted || diag "debugfs not mounted"

resources()
{
	rdma resource show 2>&1 | sed 's/^[0-9]*: //' | sort
}

for p in "${PAIRINGS[@]}"; do
	want=${EXPECT[$p]}
	before=$(resources)
	n=0
	if out=$(insmod "$KO" pairs="$p" 2>&1); then
		lines=$(cat "$RESULT" 2>/dev/null)
	else
		lines="not ok - insmod: $out"
	fi
	while IFS= read -r line; do
		case $line in
		"ok - "*)
			if [ "$n" -lt "$want" ]; then
				pass "${line#ok - }"
			else
				diag "unexpected: $line"
			fi
			n=$((n + 1)) ;;
		"not ok - "*)
			if [ "$n" -lt "$want" ]; then
				fail "${line#not ok - }"
			else
				diag "unexpected: $line"
			fi
			n=$((n + 1)) ;;
		done*) diag "$p: $line" ;;
		*) [ -z "$line" ] || diag "$line" ;;
		esac
	done <<<"$lines"
	while [ "$n" -lt "$want" ]; do
		fail "$p: case $n did not report"
		n=$((n + 1))
	done
	if [ "$n" -gt "$want" ]; then
		fail "$p: $n cases reported, $want expected"
	else
		pass "$p: $n cases reported"
	fi
	rmmod rodp_ktest 2>/dev/null
	after=$(resources)
	if [ "$before" = "$after" ]; then
		pass "$p: rmmod rodp_ktest, no resource left"
	else
		fail "$p: rmmod rodp_ktest, no resource left"
		diag "before: $before"
		diag "after: $after"
	fi
done
[ "$TAP_FAILED" -eq 0 ]
