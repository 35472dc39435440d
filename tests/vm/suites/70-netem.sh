#!/bin/bash
# VM suite "netem": the RC transport over a lossy, reordering link.
#
# Both rodp veths (ve0 in ns0, ve1 in ns1) drop 2% and reorder 5% of
# their packets (tc netem).  Data must still arrive intact and nothing
# may hang: ibv_rc_pingpong checks every buffer it receives (-c), and the
# perftest tools must finish.  The counters must show that the transport
# really recovered from losses (retransmissions, sequence NAKs).
#
# ibv_rc_pingpong has no closing handshake: a side exits, destroying its
# QP, as soon as its own work completes.  If the ACK of the peer's last
# message is lost then, the peer retries into a QP that is gone and ends
# with "retry counter exceeded" on any RC implementation.  So while
# pingpong runs, RC ACKs (BTH opcode 0x11) bypass the loss and only
# requests are dropped; the perftest tools, which close over TCP, run
# with every packet exposed.
set -u
# shellcheck source=tests/vm/harness/tap.sh
. "$RODP_REPO/tests/vm/harness/tap.sh"

KROOT=$RODP_REPO/build/deps/$(uname -r)/root
# shellcheck source=perftest/lib.sh
. "$RODP_REPO/perftest/lib.sh"
PT_DIR=/tmp/netem
PT_PORT=18601
PT_TIMEOUT=90
NETEM_N=0

plan 14

# opcode_band NS DEV OPCODE: a prio root on DEV's egress, RoCE v2
# packets of BTH opcode OPCODE in band 1:1, all else in 1:2; the caller
# puts its netem under one of them.  The u32 offsets assume IPv4 without
# options, as rodp and rxe send it.
opcode_band()
{
	ip netns exec "$1" tc qdisc del dev "$2" root 2>/dev/null
	ip netns exec "$1" tc qdisc add dev "$2" root handle 1: prio \
		bands 2 priomap 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 &&
	ip netns exec "$1" tc filter add dev "$2" parent 1: protocol ip \
		prio 1 u32 match ip protocol 17 0xff \
		match ip dport 4791 0xffff match u8 "$3" 0xff at 28 flowid 1:1
}

# lossy NS DEV [spare-acks]: netem loss and reordering on DEV's egress;
# with spare-acks, RC ACKs and NAKs (BTH opcode 0x11) go around it
# through band 1:1.
lossy()
{
	local ns=$1 dev=$2 mode=${3:-}
	local netem=(netem delay 1ms loss 2% reorder 5% 50%)

	if [ "$mode" != spare-acks ]; then
		ip netns exec "$ns" tc qdisc del dev "$dev" root 2>/dev/null
		ip netns exec "$ns" tc qdisc add dev "$dev" root "${netem[@]}"
		return
	fi
	opcode_band "$ns" "$dev" 0x11 &&
	ip netns exec "$ns" tc qdisc add dev "$dev" parent 1:2 handle 20: \
		"${netem[@]}"
}

# drop_last NS DEV: DEV's egress drops every RDMA READ response LAST
# (BTH opcode 0x0f) through a 100 % loss band 1:1, and nothing else.
# Each request chunk of a long read ends with one, so the requester must
# retry from that chunk's last PSN: one packet, answered
# READ_RESP_ONLY.
drop_last()
{
	opcode_band "$1" "$2" 0x0f &&
	ip netns exec "$1" tc qdisc add dev "$2" parent 1:1 handle 10: \
		netem loss 100%
}

# band_pkts NS DEV CLASS [dropped]: packets that went through DEV's
# CLASS, or with dropped, that it dropped.
band_pkts()
{
	local re='.* bytes \([0-9]*\) pkt.*'

	[ "${4:-}" = dropped ] && re='.*(dropped \([0-9]*\),.*'
	ip netns exec "$1" tc -s class show dev "$2" classid "$3" |
		sed -n "s/$re/\1/p"
}

# acks_spared NS DEV: packets went through DEV's spared band 1:1.
acks_spared()
{
	local n
	n=$(band_pkts "$1" "$2" 1:1)
	echo "$2: ${n:-no} packets in 1:1"
	[ "${n:-0}" -gt 0 ]
}

counter()
{
	cat "/sys/class/infiniband/$1/ports/1/hw_counters/$2"
}

# pair NAME TOOL ARG...: TOOL's server on rodp1 (ns1), its client on
# rodp0 (ns0), through perftest/lib.sh's pt_pair.  A run that timed out
# fails here (nothing may hang, even once); a run spoilt only because
# perftest could not measure the CPU clock (under TCG) is tried again,
# then reported as a TAP skip, never as a pass.
pair()
{
	local name=$1 id
	shift
	NETEM_N=$((NETEM_N + 1))
	id=netem$NETEM_N
	if pt_pair "$id" ns1 rodp1 ns0 rodp0 10.77.0.11 "$@" &&
	   [ "$PT_TIMEDOUT" = 0 ]; then
		pass "$name"
		return
	fi
	if [[ $PT_WHY == "perftest could not measure the CPU clock"* ]]; then
		skip "$name" "$PT_WHY"
		return
	fi
	fail "$name"
	[ "$PT_TIMEDOUT" = 0 ] ||
		diag "the first run timed out ($PT_DIR/$id.*.timeout)"
	diag "${PT_WHY:-the second run passed}"
	diag "client:"
	sed 's/^/#   /' "$PT_DIR/$id.client"
	diag "server:"
	sed 's/^/#   /' "$PT_DIR/$id.server"
}

if ! modprobe -d "$KROOT" -a sch_netem sch_prio cls_u32; then
	diag "sch_netem, sch_prio or cls_u32 could not be loaded"
fi
retr0=$(($(counter rodp0 retransmits) + $(counter rodp1 retransmits)))
nak0=$(($(counter rodp0 tx_nak_seq) + $(counter rodp1 tx_nak_seq)))

check "netem on ve0, RC ACKs spared" lossy ns0 ve0 spare-acks
check "netem on ve1, RC ACKs spared" lossy ns1 ve1 spare-acks

pair "ibv_rc_pingpong -c, 4 KiB x 500, data checked" \
	ibv_rc_pingpong -c -s 4096 -n 500
pair "ibv_rc_pingpong -c, 64 KiB x 100, data checked" \
	ibv_rc_pingpong -c -s 65536 -n 100
check "the ACKs took the spared band on ve0 and ve1" \
	eval 'acks_spared ns0 ve0 && acks_spared ns1 ve1'
check "netem on ve0 and ve1, every packet" \
	eval 'lossy ns0 ve0 && lossy ns1 ve1'
pair "ib_write_bw 64 KiB x 300 completes" \
	ib_write_bw -s 65536 -n 300
pair "ib_read_bw 64 KiB x 300 completes" \
	ib_read_bw -s 65536 -n 300
pair "ib_send_bw 64 KiB x 300 completes" \
	ib_send_bw -s 65536 -n 300

retr1=$(($(counter rodp0 retransmits) + $(counter rodp1 retransmits)))
nak1=$(($(counter rodp0 tx_nak_seq) + $(counter rodp1 tx_nak_seq)))
diag "retransmits $((retr1 - retr0)), sequence NAKs $((nak1 - nak0))"
check "losses were recovered by retransmission" \
	test $((retr1 - retr0)) -gt 0 -a $((nak1 - nak0)) -gt 0

ip netns exec ns0 tc qdisc del dev ve0 root
check "ve1 drops every READ response LAST" drop_last ns1 ve1
retr0=$(counter rodp0 retransmits)
pair "ib_read_bw 1 MiB x 20 completes without one LAST of each chunk" \
	ib_read_bw -s 1048576 -n 20
n=$(band_pkts ns1 ve1 1:1 dropped)
retr1=$(counter rodp0 retransmits)
diag "LASTs dropped ${n:-none}, retransmits +$((retr1 - retr0))"
# Only the responder's way out has a qdisc: the requester's path (ve0)
# is host-local, so 128-packet chunks, eight per read.
check "every 1 MiB read lost its chunks' LASTs, 8 or more" \
	test "${n:-0}" -ge 160
ip netns exec ns1 tc qdisc del dev ve1 root
pair "after netem: ibv_rc_pingpong -c, 1 MiB x 20" \
	ibv_rc_pingpong -c -s 1048576 -n 20
done_testing
