#!/bin/bash
# tests/wire/suite.sh: the two-guest suite, run in guest A of ./rodp vm2
# with tests/wire/agent.sh in guest B:
#
#   ./rodp vm2 -- tests/wire/suite.sh -- tests/wire/agent.sh
#
# Guest A: rodp0 on eth0 (10.78.0.1).  Guest B: in turn rodp0 (rodp.ko)
# and rxe0 (upstream rdma_rxe) on its eth0 (10.78.0.2); B usually boots
# the newest kernel, where rxe has ODP.  For each of B's devices and each
# MTU: the ports' active MTU, ibv_rc_pingpong -c both ways, perftest
# (write/read/send bw and lat, pinned and --odp where both ends report
# ODP, atomic bw) both ways with the negotiated path MTU checked, the
# ICRC counters (no drop on a clean wire), and then netem loss and
# reordering, netem corruption (rodp's rx_drop_icrc rises, the data still
# arrives intact through retransmission), a SIGKILL mid-transfer on each
# side (the other side's process ends, its kernel log stays clean) and a
# capture on B's NIC decoded by tshark (RoCEv2 / "RRoCE") and by rcore
# (tests/tools/roce_check: every packet parses, every ICRC is right).
#
# RODP_WIRE_SUITE=slice (default) runs the short slice ./rodp test runs:
# rodp and rxe at MTU 1500, pingpong both ways, ib_write_bw --odp both
# ways, the counters and one capture decoded.  RODP_WIRE_SUITE=full runs
# everything at MTU 1500 and 9000.  RODP_WIRE_PEERS (default "rodp rxe")
# and RODP_WIRE_MTUS override the lists.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/harness/tap.sh
. "$here/../vm/harness/tap.sh"
# shellcheck source=tests/wire/lib.sh
. "$here/lib.sh"

MODE=${RODP_WIRE_SUITE:-slice}
PEERS=${RODP_WIRE_PEERS:-rodp rxe}
if [ "$MODE" = full ]; then
	MTUS=${RODP_WIRE_MTUS:-1500 9000}
else
	MTUS=${RODP_WIRE_MTUS:-1500}
fi
OUT=${RODP_VM_RUN:-/tmp}/wire
mkdir -p "$OUT"
ROCE_CHECK=$RODP_REPO/build/cmake/tests/unit/roce_check
LOGCHECK=$RODP_REPO/tests/vm/logcheck/logcheck.py

# The cases: counted ahead of the run, so that a case that never reports
# counts as failed.
PT_TOOLS="ib_write_bw ib_read_bw ib_send_bw ib_write_lat ib_send_lat ib_read_lat"
per_mtu()	# cases for one peer at one MTU
{
	local n=6	# set-up, two active MTUs, read chunks x2, counters
	if [ "$MODE" = full ]; then
		# pingpong x2, 6 tools x 2 ways pinned and --odp, atomic x2
		n=$((n + 2 + 6 * 2 * 2 + 2))
	else
		n=$((n + 2 + 2))	# pingpong x2, write_bw --odp x2
	fi
	echo $n
}
per_peer()	# cases for one peer beyond the MTUs (at the last MTU)
{
	if [ "$MODE" = full ]; then
		echo $((1 + 4 + 3 + 6 + 4))	# odp caps, netem, corrupt, kills, capture
	else
		echo $((1 + 4))			# odp caps, capture
	fi
}
total=1
for p in $PEERS; do
	for _ in $MTUS; do
		total=$((total + $(per_mtu)))
	done
	total=$((total + $(per_peer)))
done
plan $total

if ! wire_peer_ready 300; then
	fail "guest B's agent is ready"
	exit 1
fi
pass "guest B's agent is ready (kernel $(cat "$RODP_WIRE/b.kernel"))"
diag "A: kernel $(uname -r); mode $MODE; peers $PEERS; MTUs $MTUS"
# rodp's reasons for a NAK that ends a QP go to the kernel log (dynamic
# debug), so that a failed case says why.
for f in "invalid request" "goes to error"; do
	echo "module rodp format \"$f\" +p" \
		>/sys/kernel/debug/dynamic_debug/control 2>/dev/null
done

# ---------------------------------------------------------------------
# pair_case NAME ID WAY TOOL ARG...: one case, passed when both ends
# exit 0 (and, for perftest, the path MTU is the expected $PMTU).
pair_case()
{
	local name=$1 id=$2 way=$3 tool=$4 mtu cl
	shift 2
	pair "$id" "$@"
	cl=$OUT/$id.b
	[ "$way" = ba ] && cl=$OUT/$id.a
	if [ "$PAIR_S" != 0 ] || [ "$PAIR_C" != 0 ]; then
		fail "$name"
		diag "server exit $PAIR_S, client exit $PAIR_C ($OUT/$id.*)"
		tail -n 4 "$OUT/$id.a" "$OUT/$id.b" | sed 's/^/#   /'
		return 1
	fi
	case $tool in
	ib_*)
		mtu=$(awk '$1 == "Mtu" { sub(/\[B\]/, "", $3); print $3; exit }' \
			"$cl")
		if [ "$mtu" != "$PMTU" ]; then
			fail "$name"
			diag "perftest's path MTU is '$mtu', want $PMTU"
			return 1
		fi
		;;
	esac
	pass "$name"
}

# both CMD: run the shell command CMD here and in guest B.
both()
{
	eval "$1" && remote "$1" >/dev/null
}

# kmsg_clean_since TAG: the kernel log here after TAG passes logcheck.
kmsg_clean_since()
{
	local f=/tmp/wire-log.$$
	kmsg_since "$1" >"$f"
	python3 "$LOGCHECK" "$f"
}

# ---------------------------------------------------------------------
run_mtu()
{
	local peer=$1 mtu=$2 pdev w tool odp id before_rx before_drop brx

	PMTU=1024
	[ "$mtu" -lt 4200 ] || PMTU=4096
	# rxe's requester breaks its stream when a retransmission meets an
	# ACK on its way (README, "Known problems"); with rxe the QPs wait
	# 1 s (-u 18) rather than perftest's 67 ms before retransmitting,
	# so that a guest's stall under TCG does not start one.
	RXE_U=()
	[ "$peer" != rxe ] || RXE_U=(-u 18)
	check "$peer@$mtu: both NICs at MTU $mtu, rodp0 here and ${peer}0 there" \
		both "wire_use none && wire_mtu $mtu && wire_use \$( [ \$RODP_WIRE_ROLE = a ] && echo rodp || echo $peer)"
	pdev=$(remote wire_dev)
	is "$peer@$mtu: rodp0's active_mtu" "$(port_attr rodp0 active_mtu)" \
		"$PMTU"
	is "$peer@$mtu: $pdev's active_mtu (guest B)" \
		"$(remote "ibv_devinfo -d $pdev -v | awk '\$1 == \"active_mtu:\" { print \$2; exit }'")" \
		"$PMTU"
	before_rx=$(wire_cnt rodp0 rx_pkts)
	before_drop=$(wire_cnt rodp0 rx_drop_icrc)
	brx=$(remote "wire_cnt \$(wire_dev) \$( [ \$(wire_dev) = rodp0 ] && echo rx_pkts || echo rcvd_pkts)")

	for w in ab ba; do
		pair_case "$peer@$mtu: ibv_rc_pingpong -c, ${w:0:1} serves" \
			"pp-$peer-$mtu-$w" $w ibv_rc_pingpong -c -n 100 -s 4096 \
			-m $PMTU
	done
	if [ "$MODE" = full ]; then
		for tool in $PT_TOOLS; do
			for odp in "" --odp; do
				for w in ab ba; do
					id=$tool-$peer-$mtu-$w${odp:+-odp}
					if [ -n "$odp" ] && [ "$ODP_BOTH" != 1 ]; then
						fail "$peer@$mtu: $tool $odp, ${w:0:1} serves"
						diag "one end does not report ODP"
						continue
					fi
					case $tool in
					*_bw) set -- -s 65536 -n 300 ;;
					*) set -- -s 64 -n 300 ;;
					esac
					set -- "$@" "${RXE_U[@]}"
					pair_case "$peer@$mtu: $tool${odp:+ $odp}, ${w:0:1} serves" \
						"$id" $w $tool "$@" $odp
				done
			done
		done
		for w in ab ba; do
			pair_case "$peer@$mtu: ib_atomic_bw, ${w:0:1} serves" \
				"atomic-$peer-$mtu-$w" $w ib_atomic_bw -n 300 \
				"${RXE_U[@]}"
		done
	else
		for w in ab ba; do
			if [ "$ODP_BOTH" != 1 ]; then
				fail "$peer@$mtu: ib_write_bw --odp, ${w:0:1} serves"
				diag "one end does not report ODP"
				continue
			fi
			pair_case "$peer@$mtu: ib_write_bw --odp, ${w:0:1} serves" \
				"wbw-$peer-$mtu-$w-odp" $w ib_write_bw -s 65536 \
				-n 300 --odp "${RXE_U[@]}"
		done
	fi
	# To a peer on another host a read is asked for 32 KiB at a time
	# (RODP_WIRE_READ_CHUNK; 128 packets on a host-local path): A's
	# requests for 20 reads of 1 MiB, retransmissions included, are at
	# least 20 times the chunks of one.
	local tx0 tx1 want
	tx0=$(wire_cnt rodp0 tx_pkts)
	if pair_case "$peer@$mtu: ib_read_bw 1 MiB x 20, B serves" \
		"rbw-$peer-$mtu" ba ib_read_bw -s 1048576 -n 20 \
		"${RXE_U[@]}"; then
		tx1=$(wire_cnt rodp0 tx_pkts)
		want=$((20 * 1048576 / 32768))
		diag "A rodp0 sent $((tx1 - tx0)) packets, want $want or more"
		check "$peer@$mtu: the reads went in 32 KiB requests" \
			test $((tx1 - tx0)) -ge $want
	fi
	# Every packet carries an ICRC and is checked: on a clean wire none
	# is dropped, and packets did arrive.
	local rx drop brx2 bdiag
	rx=$(wire_cnt rodp0 rx_pkts)
	drop=$(wire_cnt rodp0 rx_drop_icrc)
	brx2=$(remote "wire_cnt \$(wire_dev) \$( [ \$(wire_dev) = rodp0 ] && echo rx_pkts || echo rcvd_pkts)")
	bdiag=$(remote "cd /sys/class/infiniband/\$(wire_dev)/ports/1/hw_counters && grep -H . * | grep -vE ':0\$' | tr '\n' ' '")
	diag "A rodp0: rx_pkts $before_rx -> $rx, rx_drop_icrc $before_drop -> $drop"
	diag "B $pdev: received $brx -> $brx2; non-zero: $bdiag"
	if [ "$drop" = "$before_drop" ] && [ "$rx" -gt "$before_rx" ] &&
	   [ "$brx2" -gt "$brx" ]; then
		pass "$peer@$mtu: packets counted both ends, no ICRC drop at rodp0"
	else
		fail "$peer@$mtu: packets counted both ends, no ICRC drop at rodp0"
	fi
}

# netem on B's egress: loss and reordering, then corruption, the RC ACKs
# spared (wire_netem): a pingpong ends without a handshake, and a lost
# last ACK would fail it on any device.
run_netem()
{
	local peer=$1 drop0 drop1 seq0 seq1
	check "$peer: netem loss 3% and reordering on B's egress" \
		remote "wire_netem delay 1ms loss 3% reorder 10% 50%"
	seq0=$(($(wire_cnt rodp0 rx_drop_seq) + $(wire_cnt rodp0 tx_nak_seq)))
	pair_case "$peer+loss: ibv_rc_pingpong -c, A serves" \
		"loss-pp-$peer" ab ibv_rc_pingpong -c -n 200 -s 4096 -m $PMTU
	pair_case "$peer+loss: ib_write_bw from B, A serves" \
		"loss-wbw-$peer" ab ib_write_bw -s 65536 -n 200
	seq1=$(($(wire_cnt rodp0 rx_drop_seq) + $(wire_cnt rodp0 tx_nak_seq)))
	diag "A rodp0 rx_drop_seq + tx_nak_seq $seq0 -> $seq1"
	if [ "$seq1" -gt "$seq0" ]; then
		pass "$peer+loss: rodp0 saw the gaps (sequence drops, NAKs)"
	else
		fail "$peer+loss: rodp0 saw the gaps (sequence drops, NAKs)"
	fi

	check "$peer: netem corrupt 5% on B's egress" \
		remote "wire_netem corrupt 5%"
	drop0=$(wire_cnt rodp0 rx_drop_icrc)
	pair_case "$peer+corrupt: ibv_rc_pingpong -c (data checked), A serves" \
		"corrupt-pp-$peer" ab ibv_rc_pingpong -c -n 300 -s 4096 -m $PMTU
	drop1=$(wire_cnt rodp0 rx_drop_icrc)
	diag "A rodp0 rx_drop_icrc $drop0 -> $drop1; hdr drops $(wire_cnt rodp0 rx_drop_hdr)"
	if [ "$drop1" -gt "$drop0" ]; then
		pass "$peer+corrupt: rodp0 dropped packets with a bad ICRC"
	else
		fail "$peer+corrupt: rodp0 dropped packets with a bad ICRC"
	fi
	remote "wire_netem off" >/dev/null
}

# SIGKILL one side's client mid-transfer; the other side's server ends
# (error or timeout, not a hang) and its kernel log stays clean.
run_kill()
{
	local peer=$1 port n tag spid rc g
	# B's client dies; A serves.
	port=$PORT
	PORT=$((PORT + 1))
	g=$(wire_gid rodp0)
	tag=$(kmsg_mark "wire: kill B's client")
	timeout -k 5 120 ib_write_bw -d rodp0 -x "$g" -p $port -s 65536 -D 60 \
		>"$OUT/kill-$peer-a.a" 2>&1 &
	spid=$!
	wait_for 30 wire_listening $port
	remote_start "exec ib_write_bw -d \$(wire_dev) -x \$(wire_gid \$(wire_dev)) -p $port -s 65536 -D 60 $A"
	n=$WIRE_REQ
	sleep 8
	check "$peer: SIGKILL B's ib_write_bw client mid-transfer" \
		remote "kill -9 \$(cat $RODP_WIRE/rep/$n.pid)"
	if wait_for 100 exited $spid; then
		wait $spid
		rc=$?
		if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -ne 137 ]; then
			pass "$peer: A's server ends with an error ($rc)"
		else
			fail "$peer: A's server ends with an error ($rc)"
		fi
	else
		fail "$peer: A's server ends with an error (still running)"
		kill -9 $spid
	fi
	check "$peer: A's kernel log clean after B's kill" kmsg_clean_since "$tag"

	# A's client dies; B serves.
	port=$PORT
	PORT=$((PORT + 1))
	tag=$(remote "kmsg_mark 'wire: kill A client'" | tail -n 1)
	remote_start "timeout -k 5 120 ib_write_bw -d \$(wire_dev) -x \$(wire_gid \$(wire_dev)) -p $port -s 65536 -D 60"
	n=$WIRE_REQ
	remote "wire_wait_listen $port 30" >/dev/null
	ib_write_bw -d rodp0 -x "$g" -p $port -s 65536 -D 60 $B \
		>"$OUT/kill-$peer-b.a" 2>&1 &
	spid=$!
	sleep 8
	check "$peer: SIGKILL A's ib_write_bw client mid-transfer" kill -9 $spid
	wait $spid 2>/dev/null
	remote_wait $n 100
	rc=$?
	remote_out $n >"$OUT/kill-$peer-b.b"
	if [ $rc -ne 0 ] && [ $rc -ne 124 ]; then
		pass "$peer: B's server ends with an error ($rc)"
	else
		fail "$peer: B's server ends with an error ($rc)"
	fi
	check "$peer: B's kernel log clean after A's kill" remote \
		"dmesg | awk -v t='$tag' 'f { print } index(\$0, t) { f = 1 }' >/tmp/k.log; python3 $LOGCHECK /tmp/k.log"
}

# A capture on B's NIC, decoded by tshark and by rcore.
run_capture()
{
	local peer=$1 cap n pkts ib
	cap=$RODP_WIRE/cap-$peer.pcap
	remote_start "exec tcpdump -i \$(wire_nic) -U -s 0 -w $cap udp port 4791"
	n=$WIRE_REQ
	sleep 3
	pair "cap-pp-$peer" ab ibv_rc_pingpong -n 5 -s 3000 -m $PMTU
	pair "cap-rd-$peer" ba ib_read_bw -s 8192 -n 5
	pair "cap-at-$peer" ab ib_atomic_bw -n 5
	sleep 1
	remote "kill -INT \$(cat $RODP_WIRE/rep/$n.pid)" >/dev/null
	remote_wait $n 20
	remote_out $n | sed 's/^/# tcpdump: /'
	cp "$cap" "$OUT/" 2>/dev/null
	pkts=$(tshark -r "$cap" -Y udp.dstport==4791 2>/dev/null | wc -l)
	ib=$(tshark -r "$cap" -Y infiniband.bth 2>/dev/null | wc -l)
	if [ "$pkts" -gt 0 ] && [ "$ib" = "$pkts" ]; then
		pass "$peer: capture on B's NIC: $ib packets, all RoCEv2 to tshark"
	else
		fail "$peer: capture on B's NIC: all RoCEv2 to tshark"
		diag "udp 4791: $pkts, infiniband: $ib"
	fi
	tshark -r "$cap" -T fields -e infiniband.bth.opcode 2>/dev/null |
		sort | uniq -c | tr '\n' ' ' | sed 's/^/# tshark opcodes: /'
	echo
	tshark -r "$cap" -Y infiniband 2>/dev/null | head -n 3 | sed 's/^/#   /'
	if tshark -r "$cap" -T fields -e frame.protocols 2>/dev/null |
	   grep -qv 'eth:ethertype:ip:udp:infiniband'; then
		fail "$peer: tshark decodes eth/ip/udp/infiniband for every frame"
	else
		pass "$peer: tshark decodes eth/ip/udp/infiniband for every frame"
	fi
	if out=$("$ROCE_CHECK" "$cap" 2>&1); then
		pass "$peer: rcore parses every packet, every ICRC right"
	else
		fail "$peer: rcore parses every packet, every ICRC right"
	fi
	printf '%s\n' "$out" | sed 's/^/#   /'
	if grep -qE 'RC_(READ_RESP|ATOMIC_ACK|ACK|SEND)' <<<"$out" &&
	   grep -q 'RC_READ_REQ' <<<"$out" &&
	   grep -qE 'RC_(CMP_SWAP|FETCH_ADD)' <<<"$out"; then
		pass "$peer: the capture has sends, reads, atomics and their answers"
	else
		fail "$peer: the capture has sends, reads, atomics and their answers"
	fi
}

for peer in $PEERS; do
	wire_use rodp >/dev/null
	remote "wire_use $peer" >/dev/null
	ODP_BOTH=0
	pdev=$(remote wire_dev)
	if wire_odp rodp0 && remote "wire_odp $pdev" >/dev/null; then
		ODP_BOTH=1
		pass "$peer: rodp0 and $pdev (guest B) report RC ODP"
	else
		fail "$peer: rodp0 and $pdev (guest B) report RC ODP"
		remote "ibv_devinfo -d $pdev -v | grep -A12 odp_caps" |
			sed 's/^/#   /'
	fi
	for mtu in $MTUS; do
		run_mtu "$peer" "$mtu"
	done
	if [ "$MODE" = full ]; then
		run_netem "$peer"
		run_kill "$peer"
	fi
	run_capture "$peer"
done
done_testing
