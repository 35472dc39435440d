#!/bin/bash
# VM suite "direct": host-local delivery between namespaces
# (kmod/rodp_direct.c).  rodp0 (ns0) and rodp1 (ns1) reach each other
# through ve0, br0 and ve1; with nothing on that way that could see or
# change a packet, rodp hands their packets over directly (hw counter
# tx_local) and the veths carry none of them.  Each case moves data
# (ib_write_bw, or ibv_rc_pingpong -c, which checks it) and then checks
# which way it went:
#  - by default: directly, IPv4 and IPv6;
#  - with the module parameter packet_path=1: through the veths;
#  - with a capture (tcpdump) on the bridge port ve1p, a netem qdisc on
#    ve0, an ingress qdisc on ve0p, VLAN filtering on br0, or an nftables
#    input chain in ns1: through the network, and direct again once it
#    is gone;
#  - netem put on ve0 and taken off in the middle of a transfer: the
#    transfer goes on, part of it direct, part through the network (the
#    trains of packets built for a local peer are cut into packets when
#    the way changed under them: rodp_out_train());
#  - ns0's neighbour entry for rodp1 pointed elsewhere for a second in
#    the middle of a transfer: what is sent meanwhile is lost as on the
#    network (the walked way is not kept past the event), and the
#    transfer completes, direct again.
#  - small requests and their ACKs handed over by a call, no packet at
#    all (hw counter tx_call, kmod/rodp_call.c): between namespaces and
#    on loopback, WRITEs and SENDs (data checked), into pinned and ODP
#    memory; never with the module parameter direct_call=0, nor with a
#    capture on the way.
# The suite leaves packet_path and direct_call as it found them.
set -u
. "$(dirname "$0")/../harness/tap.sh"
. "$(dirname "$0")/../../../perftest/lib.sh"

PT_DIR=${RODP_VM_RUN:-/tmp}/suites/direct
# 60 s a side, times RODP_TIME_SCALE: on the debug kernel midway-odp's
# 3000 round trips outlast 60 s, and a server that its timeout ends
# while the client still sends fails the client's SEND (the server's
# address space is gone: REM_OP_ERR), which looked like a rodp failure.
# shellcheck disable=SC2034 # read by pt_pair
PT_TIMEOUT=$((60 * ${RODP_TIME_SCALE:-1}))
mkdir -p "$PT_DIR"
KROOT=$RODP_REPO/build/deps/$(uname -r)/root
# Dynamic debug, for the midway cases' diagnostics.
debugfs_mounted
DDC=/sys/kernel/debug/dynamic_debug/control
PARAM=/sys/module/rodp/parameters/packet_path
N=100			# ib_write_bw iterations of 64 KiB: 6400 packets

plan 56

cnt() { cat "/sys/class/infiniband/$1/ports/1/hw_counters/$2"; }
ve0_tx() { ip netns exec ns0 cat /sys/class/net/ve0/statistics/tx_packets; }

# run_to NAME FAMILY NS DEV ADDR CMD [ARG...]: CMD from rodp0 in ns0 to
# DEV in NS at ADDR (IPv FAMILY); one case, it worked.  Sets rodp0's
# counter deltas LOCAL (tx_local), ZCOPY (tx_zcopy) and CALL0 (tx_call),
# rodp1's CALL1 (tx_call), and WIRE (ve0's tx_packets delta).
run_to()
{
	local name=$1 fam=$2 ns=$3 dev=$4 addr=$5 l0 z0 c0 c1 w0
	shift 5

	l0=$(cnt rodp0 tx_local)
	z0=$(cnt rodp0 tx_zcopy)
	c0=$(cnt rodp0 tx_call)
	c1=$(cnt rodp1 tx_call)
	w0=$(ve0_tx)
	if PT_FAMILY=$fam pt_pair "$name" "$ns" "$dev" ns0 rodp0 "$addr" "$@"
	then
		pass "$name: $1 rodp0 -> $dev"
	else
		fail "$name: $1 rodp0 -> $dev"
		diag "$PT_WHY"
	fi
	LOCAL=$(($(cnt rodp0 tx_local) - l0))
	ZCOPY=$(($(cnt rodp0 tx_zcopy) - z0))
	CALL0=$(($(cnt rodp0 tx_call) - c0))
	CALL1=$(($(cnt rodp1 tx_call) - c1))
	WIRE=$(($(ve0_tx) - w0))
	diag "$name: rodp0 tx_local +$LOCAL, tx_zcopy +$ZCOPY," \
		"tx_call +$CALL0, rodp1 tx_call +$CALL1, ve0 tx_packets +$WIRE"
}

# transfer NAME [PT_FAMILY [ARG...]]: rodp0 -> rodp1, ib_write_bw 64 KiB
# x N (and ARGs), as run_to.
transfer()
{
	run_to "$1" "${2:-4}" ns1 rodp1 10.77.0.11 ib_write_bw -s 65536 \
		-n $N "${@:3}"
}

# direct NAME / network NAME: one case on the last transfer's way.
direct()
{
	if [ "$LOCAL" -ge $((N * 64)) ] && [ "$WIRE" -lt $((N * 64 / 10)) ]; then
		pass "$1: handed over directly"
	else
		fail "$1: handed over directly"
	fi
}

network()
{
	if [ "$LOCAL" -eq 0 ] && [ "$WIRE" -ge $((N * 64)) ]; then
		pass "$1: through the network"
	else
		fail "$1: through the network"
	fi
}

orig=$(cat "$PARAM" 2>/dev/null)
is "module parameter packet_path is there" "${orig:+yes}" yes
echo 0 >"$PARAM"

transfer default
direct default
# Pinned memory: every payload by reference (RODP_FRAGS_MIN is 256).
if [ "$ZCOPY" -ge $((N * 64)) ]; then
	pass "default: payloads by reference (tx_zcopy)"
else
	fail "default: payloads by reference (tx_zcopy)"
fi
# More WRITEs than fit in the window, nothing lost on the way: no
# response is stale.  A coalesced ACK that completes a WRITE is tried on
# the next WQE too; that try, which finds nothing to do, was counted as
# a dropped response (some 470 in a 2000-WRITE transfer).
# Only a retransmission makes duplicates.
name="1000 WRITEs: no response dropped without a retransmission (rx_drop_seq)"
d0=$(cnt rodp0 rx_drop_seq)
r0=$(($(cnt rodp0 retransmits) + $(cnt rodp0 ack_timeouts)))
if ! pt_pair acks ns1 rodp1 ns0 rodp0 10.77.0.11 ib_write_bw -s 65536 \
   -n 1000; then
	fail "$name"
	diag "$PT_WHY"
else
	d0=$(($(cnt rodp0 rx_drop_seq) - d0))
	r0=$(($(cnt rodp0 retransmits) + $(cnt rodp0 ack_timeouts) - r0))
	diag "1000 WRITEs: rodp0 rx_drop_seq +$d0, retransmits and" \
		"timeouts +$r0"
	if [ "$d0" -eq 0 ] || [ "$r0" -gt 0 ]; then
		pass "$name"
	else
		fail "$name"
	fi
fi
# ODP memory too, the pages taken while the mirror holds them
# (rodp_mr_frags()).
transfer odp 4 --odp
direct odp
if [ "$ZCOPY" -ge $((N * 64)) ]; then
	pass "odp: payloads by reference (tx_zcopy)"
else
	fail "odp: payloads by reference (tx_zcopy)"
fi
transfer ipv6 6
direct ipv6
if pt_pair pingpong ns1 rodp1 ns0 rodp0 10.77.0.11 ibv_rc_pingpong -c \
   -s 65536 -n 50; then
	pass "ibv_rc_pingpong -c rodp0 -> rodp1, data checked"
else
	fail "ibv_rc_pingpong -c rodp0 -> rodp1, data checked"
	diag "$PT_WHY"
fi
# READ responses from ODP memory (rodp1's) by reference as well.
z1=$(cnt rodp1 tx_zcopy)
if PT_FAMILY=4 pt_pair odp-read ns1 rodp1 ns0 rodp0 10.77.0.11 \
   ib_read_bw -s 65536 -n $N --odp; then
	pass "odp-read: ib_read_bw --odp rodp0 -> rodp1"
else
	fail "odp-read: ib_read_bw --odp rodp0 -> rodp1"
	diag "$PT_WHY"
fi
z1=$(($(cnt rodp1 tx_zcopy) - z1))
diag "odp-read: rodp1 tx_zcopy +$z1"
if [ "$z1" -ge $((N * 64)) ]; then
	pass "odp-read: read responses by reference (rodp1 tx_zcopy)"
else
	fail "odp-read: read responses by reference (rodp1 tx_zcopy)"
fi
# The same from and into ODP memory, explicit (-o) and implicit (-O).
for o in o O; do
	if pt_pair "pingpong-$o" ns1 rodp1 ns0 rodp0 10.77.0.11 \
	   ibv_rc_pingpong -c -$o -s 65536 -n 50; then
		pass "ibv_rc_pingpong -c -$o rodp0 -> rodp1, data checked"
	else
		fail "ibv_rc_pingpong -c -$o rodp0 -> rodp1, data checked"
		diag "$PT_WHY"
	fi
done

# calls NAME NS DEV ADDR CMD [ARG...]: CMD (a latency test, or a
# pingpong with small messages) as run_to, over IPv4.
calls()
{
	run_to "$1" 4 "${@:2}"
}

# atleast NAME VALUE MIN: one case, VALUE >= MIN.
atleast()
{
	if [ "$2" -ge "$3" ]; then
		pass "$1 ($2 >= $3)"
	else
		fail "$1 ($2 >= $3)"
	fi
}

# ib_write_lat's 2-byte WRITEs, L of them each way: each side's WRITEs
# and the ACKs of the other side's go by a call (2 L a side), but for a
# few that meet the peer's side busy (they go as packets).
DCALL=/sys/module/rodp/parameters/direct_call
dcorig=$(cat "$DCALL" 2>/dev/null)
is "module parameter direct_call is there" "${dcorig:+yes}" yes
echo 1 >"$DCALL"
L=2000
calls call-lat ns1 rodp1 10.77.0.11 ib_write_lat -s 2 -n $L
atleast "call-lat: rodp0's WRITEs and ACKs by a call" $CALL0 $((L * 3 / 2))
atleast "call-lat: rodp1's WRITEs and ACKs by a call" $CALL1 $((L * 3 / 2))
if [ "$WIRE" -lt $((L / 10)) ]; then
	pass "call-lat: nothing through ve0 (+$WIRE)"
else
	fail "call-lat: nothing through ve0 (+$WIRE)"
fi
# Loopback: both ends on rodp0.
calls call-lo ns0 rodp0 10.77.0.10 ib_send_lat -s 2 -n $L
atleast "call-lo: ib_send_lat on rodp0: SENDs and ACKs by a call" \
	$CALL0 $((L * 3))
# SENDs of 64 bytes, the data checked, into pinned memory, and into
# explicit (-o) and implicit (-O) ODP memory, whose receive buffers the
# responder may have to fault in from the sender's task (then the
# request goes as a packet, to the responder's work item).
for o in "" -o -O; do
	calls "call-pingpong$o" ns1 rodp1 10.77.0.11 ibv_rc_pingpong -c $o \
		-s 64 -n 500
	atleast "call-pingpong$o: SENDs by a call" $CALL0 250
done
# direct_call=0: the same latency test, every request and ACK a packet,
# handed over directly.
echo 0 >"$DCALL"
calls call-off ns1 rodp1 10.77.0.11 ib_write_lat -s 2 -n $L
is "call-off: direct_call=0: no call" "$CALL0+$CALL1" "0+0"
atleast "call-off: handed over directly as packets (tx_local)" $LOCAL $L
echo 1 >"$DCALL"

echo 1 >"$PARAM"
transfer packet_path
network packet_path
echo 0 >"$PARAM"

# A capture on the bridge port to ns1 sees every packet.
cap=$PT_DIR/ve1p.pcap
tcpdump -B 16384 -i ve1p -w "$cap" -U udp port 4791 2>/dev/null &
tpid=$!
sleep 2	# tcpdump has opened its socket
transfer tcpdump
network tcpdump
# Nor a call: every request and ACK through the network.
calls call-tcpdump ns1 rodp1 10.77.0.11 ib_write_lat -s 2 -n $L
is "call-tcpdump: a capture on the way: no call" "$CALL0+$CALL1" "0+0"
atleast "call-tcpdump: through ve0" $WIRE $L
kill $tpid
wait $tpid 2>/dev/null
got=$(tcpdump -r "$cap" 2>/dev/null | wc -l)
# (under TCG tcpdump drops some: it must have seen the transfer)
if [ "$got" -ge $N ]; then
	pass "tcpdump on ve1p saw the packets ($got)"
else
	fail "tcpdump on ve1p saw the packets ($got)"
fi

if modprobe -d "$KROOT" sch_netem &&
   ip netns exec ns0 tc qdisc add dev ve0 root netem delay 1ms; then
	transfer netem
	network netem
	ip netns exec ns0 tc qdisc del dev ve0 root
else
	fail "netem on ve0"
	fail "netem on ve0: through the network"
fi

# midway NAME CMD [ARG...]: the way changes under a running transfer
# (CMD, rodp0 -> rodp1) again and again: netem on ve0 on and off every
# half second while it runs.  Two cases: it completes (for
# ibv_rc_pingpong -c, with the data checked), part of it went direct,
# part through the network.
midway()
{
	local name=$1 l0 w0 mpid
	shift

	l0=$(cnt rodp0 tx_local)
	w0=$(ve0_tx)
	# rodp's debug messages (a NAK and its cause) while it runs.
	echo 'module rodp +p' >"$DDC" 2>/dev/null
	PT_FAMILY=4 pt_pair "$name" ns1 rodp1 ns0 rodp0 10.77.0.11 "$@" &
	mpid=$!
	sleep 2
	while kill -0 $mpid 2>/dev/null; do
		ip netns exec ns0 tc qdisc add dev ve0 root netem delay 1ms
		sleep 0.5
		ip netns exec ns0 tc qdisc del dev ve0 root
		sleep 0.5
	done
	if wait $mpid; then
		pass "$name: netem on and off during $*: it completes"
	else
		fail "$name: netem on and off during $*: it completes"
		dmesg | grep -E 'rodp[0-9]: qp [0-9]+: (NAK|psn)' | tail -n 5 |
			sed 's/^/# /'
	fi
	echo 'module rodp -p' >"$DDC" 2>/dev/null
	LOCAL=$(($(cnt rodp0 tx_local) - l0))
	WIRE=$(($(ve0_tx) - w0))
	diag "$name: rodp0 tx_local +$LOCAL, ve0 tx_packets +$WIRE"
	if [ "$LOCAL" -gt 0 ] && [ "$WIRE" -gt 0 ]; then
		pass "$name: part direct, part through the network"
	else
		fail "$name: part direct, part through the network"
	fi
}

# Pinned, and ODP, whose pages go by reference on the host and are
# copied into wire packets when the way changed (rodp_out_train()).
if ip netns exec ns0 tc qdisc show dev ve0 >/dev/null; then
	midway midway ib_write_bw -s 65536 -D 6
	midway midway-odp ibv_rc_pingpong -c -o -s 65536 -n 3000
else
	for c in midway midway-odp; do
		fail "$c: netem on and off during a transfer: it completes"
		fail "$c: part direct, part through the network"
	done
fi

if modprobe -d "$KROOT" sch_ingress &&
   tc qdisc add dev ve0p ingress; then
	transfer ingress
	network ingress
	tc qdisc del dev ve0p ingress
else
	fail "ingress qdisc on ve0p"
	fail "ingress qdisc on ve0p: through the network"
fi

if ip link set br0 type bridge vlan_filtering 1; then
	transfer vlan_filtering
	network vlan_filtering
	ip link set br0 type bridge vlan_filtering 0
else
	fail "vlan_filtering on br0"
	fail "vlan_filtering on br0: through the network"
fi

if ! command -v nft >/dev/null; then
	skip "nftables input chain in ns1" "no nft"
	skip "nftables: through the network" "no nft"
elif modprobe -d "$KROOT" nf_tables &&
     ip netns exec ns1 nft add table inet rodp_direct &&
     ip netns exec ns1 nft add chain inet rodp_direct in \
	'{ type filter hook input priority 0; policy accept; }'; then
	transfer nftables
	network nftables
	ip netns exec ns1 nft delete table inet rodp_direct
else
	fail "nftables input chain in ns1"
	fail "nftables: through the network"
fi

# The way is walked once and kept until a netdev, neighbour or address
# event (rodp_direct_way): here ns0's neighbour entry for rodp1's
# address points at a hardware address nobody has, for a second, in the
# middle of a transfer.  The network loses what is sent meanwhile, and so
# must rodp: packets that went on being handed over would mean a way
# kept past the event.  RC's retransmission (a 4 s ACK timeout, -u 20)
# then carries the transfer through once the entry is right again, and
# the way is found again.
ha=$(ip netns exec ns1 cat /sys/class/net/ve1/address)
name="neighbour moved for a second during ib_write_bw"
r0=$(($(cnt rodp0 retransmits) + $(cnt rodp0 ack_timeouts)))
w0=$(ve0_tx)
PT_FAMILY=4 pt_pair neigh ns1 rodp1 ns0 rodp0 10.77.0.11 ib_write_bw \
	-s 65536 -D 10 -u 20 &
mpid=$!
sleep 3
ip netns exec ns0 ip neigh replace 10.77.0.11 dev ve0 \
	lladdr 02:00:5e:00:99:99 nud permanent
sleep 1
ip netns exec ns0 ip neigh replace 10.77.0.11 dev ve0 lladdr "$ha" \
	nud reachable
l0=$(cnt rodp0 tx_local)
if wait $mpid; then
	pass "$name: it completes"
else
	fail "$name: it completes"
	diag "$PT_WHY"
fi
r0=$(($(cnt rodp0 retransmits) + $(cnt rodp0 ack_timeouts) - r0))
w0=$(($(ve0_tx) - w0))
l0=$(($(cnt rodp0 tx_local) - l0))
diag "neigh: rodp0 retransmits and timeouts +$r0, ve0 tx_packets +$w0," \
	"tx_local after +$l0"
if [ "$r0" -gt 0 ] && [ "$w0" -gt 0 ]; then
	pass "$name: what was sent meanwhile went to the network, and was lost"
else
	fail "$name: what was sent meanwhile went to the network, and was lost"
fi
if [ "$l0" -gt 0 ]; then
	pass "$name: handed over directly again after"
else
	fail "$name: handed over directly again after"
fi

transfer after
direct "after: everything removed"

echo "$orig" >"$PARAM"
echo "$dcorig" >"$DCALL"
done_testing
