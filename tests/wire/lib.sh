# shellcheck shell=bash
# tests/wire/lib.sh: helpers for the two-guest wire (sourced inside a
# guest started by ./rodp vm2, see scripts/vm2.sh).
#
# The link: eth0 (the virtio NIC whose MAC is 52:54:00:78:00:0X), guest A
# 10.78.0.1, guest B 10.78.0.2.  The rendezvous: $RODP_WIRE, a 9p folder
# both guests write.  Guest B runs tests/wire/agent.sh, which runs the
# requests guest A leaves there (remote_start, remote_wait, remote below),
# so a two-guest suite is one script in guest A.

WIRE_KROOT=$RODP_REPO/build/deps/$(uname -r)/root
WIRE_NIC=${WIRE_NIC:-}

# wire_nic: the name of the wire's NIC (by its MAC).
wire_nic()
{
	local d
	for d in /sys/class/net/*; do
		case $(cat "$d/address" 2>/dev/null) in
		52:54:00:78:00:0*) printf '%s\n' "${d##*/}"; return 0 ;;
		esac
	done
	return 1
}

# wire_dev: the RoCE device on the wire's NIC, if any.
wire_dev()
{
	rdma link show 2>/dev/null |
		awk -v n="$(wire_nic)" '$NF == n { split($2, a, "/"); print a[1]; exit }'
}

# wire_use rodp|rxe|none: make the wire's RoCE device rodp0 (rodp.ko) or
# rxe0 (upstream rdma_rxe), removing the other (they both want UDP 4791),
# and wait until its port is active with an IPv4 RoCE v2 GID.
wire_use()
{
	local want=$1 nic dev f
	nic=$(wire_nic) || { echo "wire_use: no wire NIC" >&2; return 1; }
	dev=$(wire_dev)
	case $dev in
	rodp0) [ "$want" = rodp ] && return 0 ;;
	rxe0) [ "$want" = rxe ] && return 0 ;;
	esac
	[ -z "$dev" ] || rdma link del "$dev" || return 1
	case $want in
	rodp)
		# rdma_rxe holds port 4791 from its load on older kernels.
		if [ -d /sys/module/rdma_rxe ]; then
			rmmod rdma_rxe || return 1
		fi
		rdma link add rodp0 type rodp netdev "$nic" || return 1
		dev=rodp0
		;;
	rxe)
		modprobe -d "$WIRE_KROOT" rdma_rxe || return 1
		rdma link add rxe0 type rxe netdev "$nic" || return 1
		dev=rxe0
		;;
	none) return 0 ;;
	*) echo "wire_use: rodp, rxe or none, not $want" >&2; return 1 ;;
	esac
	for _ in $(seq 100); do
		if [ "$(ibv_devinfo -d $dev 2>/dev/null |
			awk '$1 == "state:" { print $2; exit }')" = PORT_ACTIVE ]; then
			for f in /sys/class/infiniband/$dev/ports/1/gids/*; do
				case $(cat "$f" 2>/dev/null) in
				0000:0000:0000:0000:0000:ffff:*) return 0 ;;
				esac
			done
		fi
		sleep 0.2
	done
	echo "wire_use: $dev did not come up" >&2
	return 1
}

# wire_mtu N: the wire NIC's MTU (the RoCE port's active MTU follows).
wire_mtu()
{
	ip link set "$(wire_nic)" mtu "$1"
}

# wire_netem NETEM-ARG...: netem on the wire NIC's egress, with RC ACKs
# and NAKs (BTH opcode 0x11) around it through a prio band; the u32
# offsets assume IPv4 without options, as rodp and rxe send it.  "off"
# removes it.
wire_netem()
{
	local nic
	nic=$(wire_nic)
	tc qdisc del dev "$nic" root 2>/dev/null
	[ "$1" = off ] && return 0
	modprobe -d "$WIRE_KROOT" -a sch_netem sch_prio cls_u32 2>/dev/null
	tc qdisc add dev "$nic" root handle 1: prio bands 2 \
		priomap 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 &&
	tc qdisc add dev "$nic" parent 1:2 handle 20: netem "$@" &&
	tc filter add dev "$nic" parent 1: protocol ip prio 1 u32 \
		match ip protocol 17 0xff match ip dport 4791 0xffff \
		match u8 0x11 0xff at 28 flowid 1:1
}

# wire_gid DEV: the index of DEV's IPv4 RoCE v2 GID.
wire_gid()
{
	local p=/sys/class/infiniband/$1/ports/1 f i
	for f in "$p"/gids/*; do
		i=${f##*/}
		case $(cat "$f" 2>/dev/null) in
		0000:0000:0000:0000:0000:ffff:*) ;;
		*) continue ;;
		esac
		[ "$(cat "$p/gid_attrs/types/$i" 2>/dev/null)" = "RoCE v2" ] ||
			continue
		printf '%s\n' "$i"
		return 0
	done
	return 1
}

# wire_listening PORT: a TCP socket listens on PORT (perftest's and the
# pingpongs' out-of-band connection).
wire_listening()
{
	local p laddr st f
	printf -v p ':%04X' "$1"
	for f in /proc/net/tcp /proc/net/tcp6; do
		while read -r _ laddr _ st _; do
			[ "$st" = 0A ] && [ "${laddr%"$p"}" != "$laddr" ] &&
				return 0
		done <"$f" 2>/dev/null
	done
	return 1
}

# wire_wait_listen PORT SECONDS
wire_wait_listen()
{
	local deadline=$((SECONDS + $2))
	until wire_listening "$1"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.2
	done
}

# wire_cnt DEV NAME: one of DEV's hw_counters (0 when absent).
wire_cnt()
{
	cat "/sys/class/infiniband/$1/ports/1/hw_counters/$2" 2>/dev/null ||
		echo 0
}

# wire_counters DEV: every hw counter of DEV, a "name value" line each.
wire_counters()
{
	local f

	for f in "/sys/class/infiniband/$1/ports/1/hw_counters/"*; do
		[ -f "$f" ] && echo "${f##*/} $(cat "$f")"
	done
}

# wire_odp DEV: DEV reports RC ODP for send, receive, write and read.
wire_odp()
{
	ibv_devinfo -d "$1" -v 2>/dev/null | awk '
		/_odp_caps:/ { s = "" }
		$1 == "general_odp_caps:" { s = "g" }
		$1 == "rc_odp_caps:" { s = "rc" }
		s == "g" && /ODP_SUPPORT$/ { g = 1 }
		s == "rc" && /SUPPORT_(SEND|RECV|WRITE|READ)$/ { n++ }
		END { exit !(g && n == 4) }'
}

# --- guest A's side of the agent protocol -------------------------------
# $RODP_WIRE/req/N.sh is request N (bash, run by guest B's agent with this
# file sourced, in the background); the agent answers in $RODP_WIRE/rep/:
# N.pid when it started, N.out its output, N.rc its exit status.

# remote_start CMD...: start CMD in guest B; its request number is
# $WIRE_REQ.  The numbers come from a file, not a variable: remote runs
# in command substitutions, whose variables do not come back.
remote_start()
{
	local n seq=/tmp/.wire-req-seq
	n=$(($(cat $seq 2>/dev/null || echo 0) + 1))
	echo $n >$seq
	WIRE_REQ=$n
	mkdir -p "$RODP_WIRE/req"
	printf '%s\n' "$*" >"$RODP_WIRE/req/.$n.tmp"
	mv "$RODP_WIRE/req/.$n.tmp" "$RODP_WIRE/req/$n.sh"
}

# remote_wait N [SECONDS]: wait for request N to end (default 300 s); its
# exit status (124 when it did not end in time).
remote_wait()
{
	local n=$1 deadline=$((SECONDS + ${2:-300}))
	while [ ! -f "$RODP_WIRE/rep/$n.rc" ]; do
		[ $SECONDS -lt $deadline ] || return 124
		sleep 0.2
	done
	return "$(cat "$RODP_WIRE/rep/$n.rc")"
}

# remote_out N: request N's output.
remote_out()
{
	cat "$RODP_WIRE/rep/$1.out" 2>/dev/null
}

# remote CMD...: run CMD in guest B and wait; its output, its status.
remote()
{
	local n rc
	remote_start "$@"
	n=$WIRE_REQ
	remote_wait "$n" 300
	rc=$?
	remote_out "$n"
	return $rc
}

# For pair: the bound of one tool run (s), the next TCP port, the
# addresses, where the outputs go.
T=${T:-90}
PORT=${PORT:-19000}
A=10.78.0.1
B=10.78.0.2
OUT=${OUT:-${RODP_VM_RUN:-/tmp}/wire}

# shellcheck disable=SC2034 # PAIR_S and PAIR_C are the caller's
# pair ID WAY TOOL ARG...: one run of TOOL between rodp0 here and B's
# device: WAY "ab" (A serves, B is the client) or "ba".  Sets PAIR_S and
# PAIR_C (server's and client's exit status, 124 when they hang) and
# leaves the outputs in $OUT/ID.a (guest A) and $OUT/ID.b.
pair()
{
	local id=$1 way=$2 tool=$3 port gflag=-x g n try
	shift 3
	case $tool in
	ibv_*) gflag=-g ;;
	esac
	for _ in 1 2; do
		port=$PORT
		PORT=$((PORT + 1))
		g=$(wire_gid rodp0)
		local rcmd="timeout -k 5 $T $tool -d \$(wire_dev) $gflag"
		rcmd+=" \$(wire_gid \$(wire_dev)) -p $port $*"
		if [ "$way" = ab ]; then
			timeout -k 5 $T "$tool" -d rodp0 $gflag "$g" -p $port \
				"$@" >"$OUT/$id.a" 2>&1 &
			local spid=$!
			wait_for 30 wire_listening $port
			remote_start "$rcmd $A"
			n=$WIRE_REQ
			remote_wait $n $((T + 20))
			PAIR_C=$?
			remote_out $n >"$OUT/$id.b"
			wait $spid
			PAIR_S=$?
		else
			remote_start "$rcmd"
			n=$WIRE_REQ
			remote "wire_wait_listen $port 30" >/dev/null
			timeout -k 5 $T "$tool" -d rodp0 $gflag "$g" -p $port \
				"$@" $B >"$OUT/$id.a" 2>&1
			PAIR_C=$?
			remote_wait $n $((T + 20))
			PAIR_S=$?
			remote_out $n >"$OUT/$id.b"
		fi
		# perftest's CPU clock check fails now and then under TCG.
		grep -q 'Correlation coefficient' "$OUT/$id.a" "$OUT/$id.b" ||
			break
		diag "$id: perftest's clock check failed, once more"
	done
}

# wire_peer_ready [SECONDS]: wait for guest B's agent (default 300 s).
wire_peer_ready()
{
	local deadline=$((SECONDS + ${1:-300}))
	until [ -f "$RODP_WIRE/b.ready" ]; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.5
	done
}
