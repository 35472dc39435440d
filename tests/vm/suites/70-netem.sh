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

plan 11

# gid4 DEV: index of DEV's RoCE v2 GID for its IPv4 address.
gid4()
{
	local d=/sys/class/infiniband/$1/ports/1 f i
	for f in "$d"/gids/*; do
		i=${f##*/}
		case $(cat "$f" 2>/dev/null) in
		0000:0000:0000:0000:0000:ffff:*) ;;
		*) continue ;;
		esac
		[ "$(cat "$d/gid_attrs/types/$i" 2>/dev/null)" = "RoCE v2" ] &&
			echo "$i" && return 0
	done
	return 1
}

listening()
{
	ip netns exec ns1 ss -Hltn "sport = :$1" | grep -q .
}

# lossy NS DEV [spare-acks]: netem loss and reordering on DEV's egress;
# with spare-acks, RC ACKs and NAKs go around it through a prio band.
# The u32 offsets assume IPv4 without options, as rodp and rxe send it.
lossy()
{
	local ns=$1 dev=$2 mode=${3:-}
	local netem=(netem delay 1ms loss 2% reorder 5% 50%)

	ip netns exec "$ns" tc qdisc del dev "$dev" root 2>/dev/null
	if [ "$mode" != spare-acks ]; then
		ip netns exec "$ns" tc qdisc add dev "$dev" root "${netem[@]}"
		return
	fi
	ip netns exec "$ns" tc qdisc add dev "$dev" root handle 1: prio \
		bands 2 priomap 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 &&
	ip netns exec "$ns" tc qdisc add dev "$dev" parent 1:2 handle 20: \
		"${netem[@]}" &&
	ip netns exec "$ns" tc filter add dev "$dev" parent 1: protocol ip \
		prio 1 u32 match ip protocol 17 0xff \
		match ip dport 4791 0xffff match u8 0x11 0xff at 28 flowid 1:1
}

# acks_spared NS DEV: packets went through DEV's spared band 1:1.
acks_spared()
{
	local n
	n=$(ip netns exec "$1" tc -s class show dev "$2" classid 1:1 |
		sed -n 's/.* bytes \([0-9]*\) pkt.*/\1/p')
	echo "$2: ${n:-no} packets in 1:1"
	[ "${n:-0}" -gt 0 ]
}

counter()
{
	cat "/sys/class/infiniband/$1/ports/1/hw_counters/$2"
}

# pair NAME PORT SERVER... -- CLIENT...: server in ns1, client in ns0.
# perftest times itself with a CPU clock it measures first; under TCG that
# measurement fails now and then ("Can't produce a report"): such a run is
# tried again (3 times), then reported as a TAP skip, never as a pass.
pair()
{
	local name=$1 port=$2 try=1
	while :; do
		pair_once "$@" && return 0
		grep -q "Can't produce a report" "/tmp/netem-out.$port" ||
			break
		if [ $try -ge 3 ]; then
			TAP_N=$((TAP_N + 1))
			printf 'ok %d - %s # SKIP %s\n' $TAP_N "$name" \
				"perftest could not measure the CPU clock"
			return 0
		fi
		try=$((try + 1))
		port=$((port + 100))
		set -- "$name" "$port" "${@:3}"
	done
	fail "$name"
	cat "/tmp/netem-diag.$port"
}

# pair_once: one run of pair; diagnostics in /tmp/netem-diag.PORT.
pair_once()
{
	local name=$1 port=$2 srv=() cli=() spid rc=0 out
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		srv+=("$1")
		shift
	done
	shift
	cli=("$@")
	ip netns exec ns1 taskset -c 0 timeout 300 "${srv[@]}" -p "$port" \
		>"/tmp/netem-srv.$port" 2>&1 &
	spid=$!
	# The server listens on TCP $port once its QP is ready.
	wait_for 60 listening "$port" || diag "server not listening on $port"
	out=$(ip netns exec ns0 taskset -c 1 timeout 300 "${cli[@]}" \
		-p "$port" 10.77.0.11 2>&1) || rc=$?
	wait $spid || rc=$((rc ? rc : $?))
	{ printf '%s\n' "$out"; cat "/tmp/netem-srv.$port"; } \
		>"/tmp/netem-out.$port"
	if [ $rc -eq 0 ]; then
		pass "$name"
		return 0
	fi
	{
		diag "exit status $rc; client:"
		printf '%s\n' "$out" | sed 's/^/#   client: /'
		sed 's/^/#   server: /' "/tmp/netem-srv.$port"
	} >"/tmp/netem-diag.$port"
	return 1
}

if ! modprobe -d "$KROOT" -a sch_netem sch_prio cls_u32; then
	diag "sch_netem, sch_prio or cls_u32 could not be loaded"
fi
g0=$(gid4 rodp0)
g1=$(gid4 rodp1)
retr0=$(($(counter rodp0 retransmits) + $(counter rodp1 retransmits)))
nak0=$(($(counter rodp0 tx_nak_seq) + $(counter rodp1 tx_nak_seq)))

check "netem on ve0, RC ACKs spared" lossy ns0 ve0 spare-acks
check "netem on ve1, RC ACKs spared" lossy ns1 ve1 spare-acks

pair "ibv_rc_pingpong -c, 4 KiB x 500, data checked" 18601 \
	ibv_rc_pingpong -d rodp1 -g "$g1" -c -s 4096 -n 500 -- \
	ibv_rc_pingpong -d rodp0 -g "$g0" -c -s 4096 -n 500
pair "ibv_rc_pingpong -c, 64 KiB x 100, data checked" 18602 \
	ibv_rc_pingpong -d rodp1 -g "$g1" -c -s 65536 -n 100 -- \
	ibv_rc_pingpong -d rodp0 -g "$g0" -c -s 65536 -n 100
check "the ACKs took the spared band on ve0 and ve1" \
	eval 'acks_spared ns0 ve0 && acks_spared ns1 ve1'
check "netem on ve0 and ve1, every packet" \
	eval 'lossy ns0 ve0 && lossy ns1 ve1'
pair "ib_write_bw 64 KiB x 300 completes" 18603 \
	ib_write_bw -d rodp1 -x "$g1" -s 65536 -n 300 -- \
	ib_write_bw -d rodp0 -x "$g0" -s 65536 -n 300
pair "ib_read_bw 64 KiB x 300 completes" 18604 \
	ib_read_bw -d rodp1 -x "$g1" -s 65536 -n 300 -- \
	ib_read_bw -d rodp0 -x "$g0" -s 65536 -n 300
pair "ib_send_bw 64 KiB x 300 completes" 18605 \
	ib_send_bw -d rodp1 -x "$g1" -s 65536 -n 300 -- \
	ib_send_bw -d rodp0 -x "$g0" -s 65536 -n 300

retr1=$(($(counter rodp0 retransmits) + $(counter rodp1 retransmits)))
nak1=$(($(counter rodp0 tx_nak_seq) + $(counter rodp1 tx_nak_seq)))
diag "retransmits $((retr1 - retr0)), sequence NAKs $((nak1 - nak0))"
check "losses were recovered by retransmission" \
	test $((retr1 - retr0)) -gt 0 -a $((nak1 - nak0)) -gt 0

ip netns exec ns0 tc qdisc del dev ve0 root
ip netns exec ns1 tc qdisc del dev ve1 root
pair "after netem: ibv_rc_pingpong -c, 1 MiB x 20" 18606 \
	ibv_rc_pingpong -d rodp1 -g "$g1" -c -s 1048576 -n 20 -- \
	ibv_rc_pingpong -d rodp0 -g "$g0" -c -s 1048576 -n 20
