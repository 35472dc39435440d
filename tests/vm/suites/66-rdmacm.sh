#!/bin/bash
# VM suite "rdmacm": the rdma_cm over rodp, with the stock librdmacm tools
# and tests/vm/cm_test.c.
# rodp-suite-timeout: 720
#
# Pairings (client -> server; the rdma_cm address picks the device):
# rodp0 -> rodp1 (ns0 -> ns1, 10.77.0.11), rodp0 -> rxe0 (ns0 -> the
# initial netns, 10.77.0.2), rxe0 -> rodp0 (initial -> ns0, 10.77.0.10);
# RODP_CM_PAIRINGS=rxe-loop (rxe0 -> rxe0) for working on the suite
# without rodp's CM.  In each pairing:
#  - rping -V -C 100 (data verified by the client), ucmatose (RC),
#    udaddy (UD), rdma_server/rdma_client: both sides exit 0;
#  - rsockets: rstream and riostream with data verified (-T v), blocking
#    and non-blocking, and a file through rcopy compared with its source;
#  - with rodp at both ends (and rxe-loop): mckey, 20 datagrams to an
#    IPv4 multicast group; rodp0 -> rodp1: rdma_xserver/rdma_xclient -c x
#    (XRC through the rdma_cm);
#  - ib_{write,read,send}_bw -R and ib_send_lat -R: both exit 0, the
#    client's result positive; the bw tools again with --odp on the rodp
#    ends (both ends rodp0 -> rodp1; the rodp end only with rxe, which has
#    no ODP on 6.1), the rodp devices' odp_faults must move;
#  - cm_test (events, private data, migrate, reject, UD; multicast with
#    rodp at both ends);
#  - a connect to a port with no listener ends with an error (REJECTED or
#    UNREACHABLE) within 30 s.
# Then, rodp0 -> rodp1: SIGKILL of client and server during connection
# setup and after establishment leaves no cm_id and no user QP on either
# device; `rdma link del rodp1` under a listener and a connected pair
# ends them (DEVICE_REMOVAL) without a hang, and rodp1 is added back as
# topology.sh made it.  The runner checks the kernel log.
set -u
# shellcheck source=tests/vm/harness/tap.sh
. "$RODP_REPO/tests/vm/harness/tap.sh"
# shellcheck source=perftest/lib.sh
. "$RODP_REPO/perftest/lib.sh"

CM_TEST=$RODP_REPO/build/cmake/tests/vm/cm_test
if [ -n "${RODP_VM_RUN:-}" ]; then
	OUT=$RODP_VM_RUN/suites/rdmacm
else
	OUT=$(mktemp -d /tmp/rdmacm.XXXXXX)
fi
mkdir -p "$OUT"
PORT=19100
T=60		# bound of every tool run
read -r -a PAIRINGS <<<"${RODP_CM_PAIRINGS:-rodp-rodp rodp-rxe rxe-rodp}"

# ends PAIRING: SNS SDEV SADDR CNS CDEV CADDR LABEL
ends()
{
	case $1 in
	rodp-rodp) set -- ns1 rodp1 10.77.0.11 ns0 rodp0 10.77.0.10 \
			  "rodp0 -> rodp1" ;;
	rodp-rxe)  set -- - rxe0 10.77.0.2 ns0 rodp0 10.77.0.10 \
			  "rodp0 -> rxe0" ;;
	rxe-rodp)  set -- ns0 rodp0 10.77.0.10 - rxe0 10.77.0.2 \
			  "rxe0 -> rodp0" ;;
	rxe-loop)  set -- - rxe0 10.77.0.2 - rxe0 10.77.0.2 "rxe0 -> rxe0" ;;
	esac
	SNS=$1 SDEV=$2 SADDR=$3 CNS=$4 CDEV=$5 CADDR=$6 LABEL=$7
}

# cm_ids NS DEV: the cm_id lines of DEV (rdma resource, seen from NS).
cm_ids()
{
	pt_in "$1" rdma resource show cm_id 2>/dev/null |
		grep -E "^link $2/" || true
}

# user_qps NS DEV: DEV's QPs owned by a process (not the kernel's QP1).
user_qps()
{
	pt_in "$1" rdma resource show qp 2>/dev/null |
		grep -E "^link $2/" | grep -v 'comm \[' || true
}

# listening NS DEV PORT: a cm_id listens on PORT (one bound to an
# address sits on that address's device, DEV; a wildcard one on every
# device).
listening()
{
	pt_in "$1" rdma resource show cm_id 2>/dev/null |
		grep -E "state LISTEN" | grep -qE ":$3( |$)"
}

# clean NS DEV: no cm_id and no user QP left on DEV.
clean()
{
	[ -z "$(cm_ids "$1" "$2")" ] && [ -z "$(user_qps "$1" "$2")" ]
}

# both_clean: the current pairing's two devices are clean (bounded poll).
both_clean()
{
	wait_for 15 clean "$SNS" "$SDEV" && wait_for 15 clean "$CNS" "$CDEV"
}

leftovers()
{
	diag "left on $SDEV: $(cm_ids "$SNS" "$SDEV" | tr '\n' ';')" \
		"$(user_qps "$SNS" "$SDEV" | tr '\n' ';')"
	diag "left on $CDEV: $(cm_ids "$CNS" "$CDEV" | tr '\n' ';')" \
		"$(user_qps "$CNS" "$CDEV" | tr '\n' ';')"
}

show()
{
	diag "$1:"
	tail -n 8 "$2" 2>/dev/null | sed 's/^/#   /'
}

# nsp NS: NSP is the command prefix that runs a command in NS.
nsp()
{
	NSP=()
	[ "$1" = - ] || NSP=(ip netns exec "$1")
}

# start_server ID SERVER_CMD...: in SNS under timeout, waits until it
# listens on $PORT on SDEV; SPID.  Fails when it never does.
start_server()
{
	local id=$1
	shift
	nsp "$SNS"
	timeout -k 5 $T "${NSP[@]}" "$@" </dev/null >"$OUT/$id.server" 2>&1 &
	SPID=$!
	local deadline=$((SECONDS + 30))
	until listening "$SNS" "$SDEV" "$PORT"; do
		if ! pt_alive $SPID || [ $SECONDS -ge $deadline ]; then
			WHY="the server never listened"
			return 1
		fi
		sleep 0.3
	done
}

# pair ID "SERVER ARGS" "CLIENT ARGS": a server/client run on $PORT
# (advanced afterwards); WHY says what failed.  SRC and CRC: statuses.
pair()
{
	local id=$1 s=$2 c=$3 PT_RC
	WHY=
	SRC=- CRC=-
	# shellcheck disable=SC2086 # the arguments are words
	if ! start_server "$id" $s; then
		pt_reap $SPID 0
		SRC=$PT_RC
		PORT=$((PORT + 1))
		return 1
	fi
	nsp "$CNS"
	# shellcheck disable=SC2086
	timeout -k 5 $T "${NSP[@]}" $c </dev/null \
		>"$OUT/$id.client" 2>&1
	CRC=$?
	if [ $CRC = 0 ]; then
		pt_reap $SPID 30
	else
		pt_reap $SPID 5
	fi
	SRC=$PT_RC
	PORT=$((PORT + 1))
	if [ "$CRC" != 0 ]; then
		WHY="client exit $CRC: $(pt_reason "$OUT/$id.client")"
	elif [ "$SRC" != 0 ]; then
		WHY="server exit $SRC: $(pt_reason "$OUT/$id.server")"
	fi
	[ -z "$WHY" ]
}


verdict()
{
	local name=$1 id=$2
	if [ -z "$WHY" ]; then
		pass "$name"
	else
		fail "$name"
		diag "$WHY"
		show "$id.server" "$OUT/$id.server"
		show "$id.client" "$OUT/$id.client"
	fi
}

odp_faults()
{
	cat "/sys/class/infiniband/$1/ports/1/hw_counters/odp_faults" \
		2>/dev/null || echo 0
}

# perf_case PAIRING TOOL KIND ODP: perftest over the rdma_cm (-R).
perf_case()
{
	local tool=$2 kind=$3 odp=$4 sargs cargs res name id before=() d i
	local devs=() args
	id=$tool-$1$([ "$odp" = no ] || echo -odp)
	args="-R -n 200"
	case $kind in
	bw)	args+=" -s 65536" ;;
	lat)	args+=" -s 2" ;;
	esac
	sargs="$tool -d $SDEV $args"
	cargs="$tool -d $CDEV $args"
	name="$tool $args"
	if [ "$odp" = yes ]; then
		case $SDEV in rodp*) sargs+=" --odp"; devs+=("$SDEV") ;; esac
		case $CDEV in rodp*) cargs+=" --odp"; devs+=("$CDEV") ;; esac
		name+=", --odp on ${devs[*]}"
	fi
	for i in "${!devs[@]}"; do
		before[i]=$(odp_faults "${devs[i]}")
	done
	pair "$id" "$sargs -p $PORT" "$cargs -p $PORT $SADDR"
	if [ -z "$WHY" ]; then
		if [ "$kind" = bw ]; then
			res=$(pt_bw "$OUT/$id.client" | tail -n 1)
			# shellcheck disable=SC2086
			set -- $res
			pt_number "${4:-}" && awk -v v="$4" 'BEGIN{exit !(v>0)}' ||
				WHY="no positive BW average: '$res'"
		else
			res=$(pt_lat "$OUT/$id.client" | tail -n 1)
			# shellcheck disable=SC2086
			set -- $res
			pt_number "${5:-}" && awk -v v="$5" 'BEGIN{exit !(v>0)}' ||
				WHY="no positive t_typical: '$res'"
		fi
	fi
	if [ -z "$WHY" ]; then
		for i in "${!devs[@]}"; do
			d=${devs[i]}
			[ "$(odp_faults "$d")" -gt "${before[i]}" ] ||
				WHY="$d odp_faults did not move (${before[i]})"
		done
	fi
	verdict "$name, $LABEL" "$id"
	[ -n "$WHY" ] || diag "  $res"
}

# no_listener: a connect to a port nobody listens on fails in time.
no_listener()
{
	local id=nolisten-$1 start=$SECONDS rc
	nsp "$CNS"
	timeout -k 5 30 "${NSP[@]}" rping -c -a "$SADDR" \
		-p $((PORT + 500)) -C 1 </dev/null >"$OUT/$id.client" 2>&1
	rc=$?
	WHY=
	if [ $rc = 0 ]; then
		WHY="rping exit 0"
	elif [ $rc = 124 ] || [ $rc = 137 ]; then
		WHY="rping still waiting after 30 s"
	elif ! grep -qE "REJECTED|UNREACHABLE|ADDR_ERROR|ROUTE_ERROR" \
		"$OUT/$id.client"; then
		WHY="rping exit $rc without a REJECTED/UNREACHABLE event"
	fi
	wait_for 15 clean "$CNS" "$CDEV" || { WHY+=" cm_id left"; leftovers; }
	verdict "connect to a port with no listener: error, $((SECONDS - \
start)) s (exit $rc), $LABEL" "$id"
}

# rsocket_cases PAIRING: rsockets over the pairing (the tools verify the
# data), and rcopy, whose copy is compared with its source.
rsocket_cases()
{
	pair rstream-"$1" "rstream -b $SADDR -p $PORT -C 100 -S 65536 -T v" \
		"rstream -s $SADDR -p $PORT -C 100 -S 65536 -T v"
	verdict "rstream -S 65536 -C 100 -T v (rsockets, blocking), $LABEL" \
		rstream-"$1"
	pair rstream-nb-"$1" "rstream -b $SADDR -p $PORT -C 200 -S 4096 -T v -T n" \
		"rstream -s $SADDR -p $PORT -C 200 -S 4096 -T v -T n"
	verdict "rstream -S 4096 -C 200 -T v -T n (rsockets, non-blocking),\
 $LABEL" rstream-nb-"$1"
	pair riostream-"$1" "riostream -b $SADDR -p $PORT -C 100 -S 65536 -T v" \
		"riostream -s $SADDR -p $PORT -C 100 -S 65536 -T v"
	verdict "riostream -S 65536 -C 100 -T v (rsockets' RDMA writes),\
 $LABEL" riostream-"$1"
	rcopy_case "$1"
}

# rcopy_case PAIRING: a 3 MB file of random bytes through rcopy (the
# server, which never ends by itself, is stopped afterwards).
rcopy_case()
{
	local id=rcopy-$1 src=/tmp/rcopy-$1.src dst=/tmp/rcopy-$1.dst
	WHY=
	head -c 3000000 /dev/urandom >"$src"
	rm -f "$dst"
	if start_server "$id" rcopy -p "$PORT"; then
		nsp "$CNS"
		timeout -k 5 $T "${NSP[@]}" rcopy "$src" "$SADDR:$dst" \
			-p "$PORT" </dev/null >"$OUT/$id.client" 2>&1
		CRC=$?
		if [ $CRC != 0 ]; then
			WHY="client exit $CRC: $(pt_reason "$OUT/$id.client")"
		elif ! cmp -s "$src" "$dst"; then
			WHY="the copy differs from its source ($(stat -c %s \
"$dst" 2>/dev/null || echo no) bytes)"
		fi
		pt_alive "$SPID" || WHY+=" the server ended: $(pt_reason \
"$OUT/$id.server")"
		kill "$SPID" 2>/dev/null
		pt_reap "$SPID" 10
	fi
	rm -f "$src" "$dst"
	PORT=$((PORT + 1))
	verdict "rcopy of 3 MB (rsockets), the copy identical, $LABEL" "$id"
}

# mckey_case PAIRING: the server's side joins an IPv4 multicast group and
# waits for 20 datagrams, which the client's side sends to the group.
mckey_case()
{
	local id=mckey-$1 group=239.1.2.$((PORT % 200 + 1))
	WHY=
	nsp "$SNS"
	timeout -k 5 $T "${NSP[@]}" mckey -m "$group" -b "$SADDR" -C 20 \
		</dev/null >"$OUT/$id.server" 2>&1 &
	SPID=$!
	# Its join (rdma resource: a cm_id on SDEV); the sender waits 3 s
	# after its own join before it sends.
	wait_for 20 eval "cm_ids $SNS $SDEV | grep -q ." ||
		WHY="the receiver never joined"
	nsp "$CNS"
	timeout -k 5 $T "${NSP[@]}" mckey -m "$group" -b "$CADDR" -s -C 20 \
		</dev/null >"$OUT/$id.client" 2>&1
	CRC=$?
	pt_reap "$SPID" 30
	SRC=$PT_RC
	[ "$CRC" = 0 ] || WHY+=" sender exit $CRC: $(pt_reason \
"$OUT/$id.client")"
	[ "$SRC" = 0 ] || WHY+=" receiver exit $SRC: $(pt_reason \
"$OUT/$id.server")"
	grep -q "data transfers complete" "$OUT/$id.server" ||
		WHY+=" the receiver did not complete its 20 receives"
	PORT=$((PORT + 1))
	verdict "mckey -C 20 (UD multicast $group), $LABEL" "$id"
}

cm_cases()
{
	local m=() n
	case $1 in rodp-rodp|rxe-loop) m=(--mcast) ;; esac
	n=$("$CM_TEST" --count "${m[@]}")
	tap_run "$n" "$CM_TEST" "${m[@]}" "$CNS" "$SNS" "$SADDR" "$PORT"
	PORT=$((PORT + 10))
}

# --- the plan ------------------------------------------------------------
per=0
for p in "${PAIRINGS[@]}"; do
	m=()
	case $p in rodp-rodp|rxe-loop) m=(--mcast) ;; esac
	per=$((per + 4 + 4 + 3 + 1 + 4 + $("$CM_TEST" --count "${m[@]}")))
	case $p in rxe-loop) per=$((per - 3)) ;; esac
	# mckey with rodp at both ends (and rxe-loop); XRC rodp0 -> rodp1.
	case $p in rodp-rodp) per=$((per + 2)) ;; rxe-loop) per=$((per + 1)) ;;
	esac
done
plan $((per + 4 + 7))

for p in "${PAIRINGS[@]}"; do
	ends "$p"
	pair rping-"$p" "rping -s -a $SADDR -p $PORT -C 100 -V" \
		"rping -c -a $SADDR -p $PORT -C 100 -V"
	verdict "rping -V -C 100 (data verified), $LABEL" rping-"$p"
	pair ucmatose-"$p" "ucmatose -b $SADDR -p $PORT -c 2 -C 20" \
		"ucmatose -s $SADDR -p $PORT -c 2 -C 20"
	verdict "ucmatose -c 2 -C 20 (RC), $LABEL" ucmatose-"$p"
	# udaddy's -p is the port space: it always uses port 7174.
	p0=$PORT
	PORT=7174
	pair udaddy-"$p" "udaddy -b $SADDR -C 20" "udaddy -s $SADDR -C 20"
	PORT=$p0
	verdict "udaddy -C 20 (UD), $LABEL" udaddy-"$p"
	pair rdma_server-"$p" "rdma_server -s $SADDR -p $PORT" \
		"rdma_client -s $SADDR -p $PORT"
	verdict "rdma_server/rdma_client, $LABEL" rdma_server-"$p"
	for tool in ib_write_bw ib_read_bw ib_send_bw; do
		perf_case "$p" $tool bw no
	done
	perf_case "$p" ib_send_lat lat no
	[ "$p" = rxe-loop ] || for tool in ib_write_bw ib_read_bw ib_send_bw
	do
		perf_case "$p" $tool bw yes
	done
	rsocket_cases "$p"
	case $p in rodp-rodp|rxe-loop) mckey_case "$p" ;; esac
	if [ "$p" = rodp-rodp ]; then
		pair xrc-"$p" "rdma_xserver -c x -p $PORT" \
			"rdma_xclient -c x -s $SADDR -p $PORT"
		verdict "rdma_xserver/rdma_xclient -c x (XRC), $LABEL" xrc-"$p"
	fi
	cm_cases "$p"
	no_listener "$p"
done

# --- SIGKILL and device removal, rodp0 -> rodp1 --------------------------
ends "${RODP_CM_KILL_PAIRING:-rodp-rodp}"

# kill_case NAME WHO: a rping pair established (cm_id CONNECT on the
# server's device), then WHO (client/server) gets SIGKILL; the other side
# must end and both devices be clean.
kill_established()
{
	local who=$1 id=kill-est-$1 cpid
	WHY=
	if start_server "$id" rping -s -a "$SADDR" -p "$PORT" -C 100000; then
		nsp "$CNS"
		timeout -k 5 $T "${NSP[@]}" rping -c -a "$SADDR" \
			-p "$PORT" -C 100000 </dev/null >"$OUT/$id.client" 2>&1 &
		cpid=$!
		wait_for 20 eval "cm_ids $SNS $SDEV | grep -q 'state CONNECT'" ||
			WHY="never established"
		sleep 1
		if [ "$who" = client ]; then
			kill -KILL "$(pgrep -P $cpid)"
		else
			kill -KILL "$(pgrep -P "$SPID")"
		fi
		PT_RC=
		pt_reap $cpid 30
		[ "$PT_RC" != 124 ] || WHY+=" the client did not end"
		pt_reap $SPID 30
		[ "$PT_RC" != 124 ] || WHY+=" the server did not end"
	fi
	PORT=$((PORT + 1))
	both_clean || { WHY+=" cm_ids/QPs left"; leftovers; }
	verdict "SIGKILL of the $who after establishment: the other side\
 ends, no cm_id or QP left, $LABEL" "$id"
}
kill_established client
kill_established server

# kill_setup WHO: the server (cm_test --hold) takes the CONNECT_REQUEST
# and never answers; WHO gets SIGKILL during that setup.
kill_setup()
{
	local who=$1 id=kill-setup-$1 cpid rc
	WHY=
	if start_server "$id" "$CM_TEST" --hold - "$SADDR" "$PORT"; then
		nsp "$CNS"
		timeout -k 5 $T "${NSP[@]}" rping -c -a "$SADDR" \
			-p "$PORT" -C 1 </dev/null >"$OUT/$id.client" 2>&1 &
		cpid=$!
		wait_for 20 grep -q "connect request" "$OUT/$id.server" ||
			WHY="the request never arrived"
		if [ "$who" = client ]; then
			kill -KILL "$(pgrep -P $cpid)"
			pt_reap $cpid 10
			wait_for 15 clean "$CNS" "$CDEV" ||
				WHY+=" the client's device not clean"
			kill -KILL "$(pgrep -P "$SPID")"
			pt_reap $SPID 10
		else
			kill -KILL "$(pgrep -P "$SPID")"
			pt_reap $SPID 10
			pt_reap $cpid 40
			rc=$PT_RC
			[ "$rc" != 124 ] && [ "$rc" != 0 ] ||
				WHY+=" the client got exit $rc (want an error)"
		fi
	fi
	PORT=$((PORT + 1))
	both_clean || { WHY+=" cm_ids/QPs left"; leftovers; }
	verdict "SIGKILL of the $who during connection setup: no cm_id or\
 QP left, $LABEL" "$id"
}
kill_setup client
kill_setup server

# Device removal under a listener and a connected pair.
id=linkdel
WHY=
start_server $id-pair rping -s -a "$SADDR" -p "$PORT" -C 100000 ||
	diag "pair server: $WHY"
ppid_s=$SPID
nsp "$CNS"
timeout -k 5 $T "${NSP[@]}" rping -c -a "$SADDR" -p "$PORT" \
	-C 100000 </dev/null >"$OUT/$id.client" 2>&1 &
ppid_c=$!
wait_for 20 eval "cm_ids $SNS $SDEV | grep -q 'state CONNECT'"
check "a connected rping pair on $SDEV" \
	eval "cm_ids $SNS $SDEV | grep -q 'state CONNECT'"
PORT=$((PORT + 1))
start_server $id-listen rping -s -a "$SADDR" -p "$PORT" ||
	diag "listener: $WHY"
lpid=$SPID
check "a listener on $SDEV" listening "$SNS" "$SDEV" "$PORT"
nsp "$SNS"
check "rdma link del $SDEV completes" \
	within 60 "${NSP[@]}" rdma link del "$SDEV"
ok=1
for pid in $lpid $ppid_s $ppid_c; do
	pt_reap "$pid" 30
	[ "$PT_RC" != 124 ] || ok=0
done
is "the listener and both sides of the pair end (none killed)" $ok 1
grep -h DEVICE_REMOVAL "$OUT"/linkdel* | head -n 2 | sed 's/^/#   /'
check "the rdma link $SDEV is gone" eval "! rdma link show $SDEV/1"
case $SDEV in
rodp1)	check "rodp1 added back on ve1 (as topology.sh)" \
		ip netns exec ns1 rdma link add rodp1 type rodp netdev ve1 ;;
*)	check "rxe0 added back" rdma link add rxe0 type rxe netdev ve2 ;;
esac
wait_for 20 port_is "$SDEV" state PORT_ACTIVE
wait_for 20 pt_gid "$SDEV"
pair rping-after "rping -s -a $SADDR -p $PORT -C 10 -V" \
	"rping -c -a $SADDR -p $PORT -C 10 -V"
verdict "rping after the re-add, $LABEL" rping-after
diag "outputs: $OUT"
done_testing
