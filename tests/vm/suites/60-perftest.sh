#!/bin/bash
# VM suite "perftest": the stock RDMA tools (Debian's perftest 4.5 and
# ibv_rc_pingpong) run over rodp on the RC data path.
# rodp-suite-timeout: 840
#
#  - control: ib_write_bw on rxe0 to itself (the test bed works);
#  - ib_{write,read,send,atomic}_{bw,lat}, small iteration counts, in four
#    pairings: rodp0 -> rodp1 (ns0 -> ns1, across the bridge), rodp0 to
#    itself (loopback in ns0), rodp0 -> rxe0 (client in ns0, server on
#    rxe0 in the initial namespace) and rxe0 -> rodp0 (server in ns0);
#  - in each of the four pairings: an ib_write_bw -a sweep (all 23 sizes
#    2 B..8 MiB), a -D 2 duration run, a -q 4 run (4 QPs), and
#    ib_write_bw -b and ib_send_bw -b (bidirectional);
#  - rodp0 -> rodp1: ibv_rc_pingpong -c (received data checked) and -e
#    (completion events);
#  - RoCEv2 over IPv6 (the devices' link-local GIDs, pairings ending in
#    "6"): ib_{write,read,send}_bw in the four pairings and
#    ibv_rc_pingpong -c rodp0 -> rodp1;
#  - last, perftest --odp (ib_{write,read,send}_bw): rodp0 -> rodp1 with
#    --odp on both sides, rodp0 -> rxe0 and rxe0 -> rodp0 with --odp on
#    the rodp side only (rxe on 6.1 has no ODP; on both sides where rxe
#    reports ODP, 6.15 and later); such a case also needs
#    the rodp devices' odp_faults hw counter to move.
# A case passes only when both sides exit 0 and print their result line
# with a positive number (the servers of ib_read_lat and ib_atomic_lat
# print none: only their exit status counts).
#
# Each side runs under `timeout` (at most 60 s, times RODP_TIME_SCALE),
# every pair on its own TCP port.  The cases share the suite's time
# (RODP_SUITE_TIMEOUT): a case that finds too little left fails without
# running.  A perftest
# pair takes 4 to 10 s under TCG, mostly starting up.  Both sides' output
# of every case stays in $RODP_VM_RUN/suites/perftest/.
#
# RODP_PERFTEST_JOBS=N runs N cases at a time (default 1; the results
# are still reported in order).  Two at a time is faster, but perftest
# then often fails to measure the CPU clock (see perftest/lib.sh) and
# gives no result.
# RODP_PERFTEST_ONLY=REGEX runs only the cases whose names match (grep
# -E); the others are reported as failed, "not selected".
# RODP_PERFTEST_IPV6_TOOLS="TOOL..." runs only these bandwidth tools over
# IPv6 (./rodp test sets ib_write_bw; --full runs all three).
# RODP_PERFTEST_DEVS=rxe (for working on this suite without a rodp data
# path): every end becomes rxe0 in the initial namespace, loopback.
set -u
. "$(dirname "$0")/../harness/tap.sh"
. "$(dirname "$0")/../../../perftest/lib.sh"

if [ -n "${RODP_VM_RUN:-}" ]; then
	PT_DIR=$RODP_VM_RUN/suites/perftest
else
	PT_DIR=$(mktemp -d /tmp/perftest.XXXXXX)
fi
mkdir -p "$PT_DIR"
STANDIN=${RODP_PERFTEST_DEVS:-}
JOBS=${RODP_PERFTEST_JOBS:-1}
# Leave the runner time to write its end marker.
DEADLINE=$((SECONDS + ${RODP_SUITE_TIMEOUT:-240} - 15))
PORT_BASE=18600

TOOLS="ib_write_bw ib_read_bw ib_send_bw ib_atomic_bw
	ib_write_lat ib_read_lat ib_send_lat ib_atomic_lat"

# ends PAIRING: sets SNS SDEV CNS CDEV ADDR (server, client, server's
# address for perftest's own TCP exchange), FAMILY (of the RoCE GIDs: 6
# for a PAIRING ending in 6, else 4) and LABEL.
ends()
{
	FAMILY=4
	case $1 in
	*6)
		ends "${1%6}"
		FAMILY=6
		LABEL+=" over IPv6"
		return ;;
	rodp-rodp)
		LABEL="rodp0 -> rodp1"
		set -- ns1 rodp1 ns0 rodp0 10.77.0.11 ;;
	rodp-loop)
		LABEL="rodp0 loopback"
		set -- ns0 rodp0 ns0 rodp0 10.77.0.10 ;;
	rodp-rxe)
		LABEL="rodp0 -> rxe0"
		set -- - rxe0 ns0 rodp0 10.77.0.2 ;;
	rxe-rodp)
		LABEL="rxe0 -> rodp0"
		set -- ns0 rodp0 - rxe0 10.77.0.10 ;;
	rxe-loop)
		LABEL="rxe0 loopback"
		set -- - rxe0 - rxe0 10.77.0.2 ;;
	esac
	SNS=$1 SDEV=$2 CNS=$3 CDEV=$4 ADDR=$5
	if [ "$STANDIN" = rxe ]; then
		SNS=- SDEV=rxe0 CNS=- CDEV=rxe0 ADDR=10.77.0.2
	fi
}

ns_name()
{
	if [ "$1" = - ]; then
		echo "the initial netns"
	else
		echo "netns $1"
	fi
}

# results KIND FILE: the result lines of one side's output.
results()
{
	case $1 in
	bw)	pt_bw "$2" ;;
	lat)	pt_lat "$2" ;;
	pp)	pt_pingpong "$2" ;;
	esac
}

# positive KIND LINE: the line's main number (BW average, t_typical,
# usec/iter) is above 0.
positive()
{
	local col
	case $1 in
	bw)	col=4 ;;
	lat)	col=5 ;;
	pp)	col=3 ;;
	esac
	# shellcheck disable=SC2086 # the words of the line
	set -- $2
	# bw: a rate of a few KB/s (8-byte atomics on the debug kernel)
	# prints as 0.00 MB/s; then the message rate (Mpps) must be > 0.
	if [ "$col" = 4 ] && [ "${4:-}" = 0.00 ]; then
		col=5
	fi
	pt_number "${!col}" && awk -v v="${!col}" 'BEGIN { exit !(v > 0) }'
}

# The cases: NAME[i] and SPEC[i] = "KIND SRV_RESULT LINES PAIRING TOOL
# [ARG...]" (words without blanks).  KIND (bw, lat, pp) says which result
# line to look for, SRV_RESULT (yes/no) whether the server prints one
# too, LINES how many the client must print (-a: one per size).
NAME=()
SPEC=()
DUR=$((2 * ${RODP_TIME_SCALE:-1}))
add()
{
	if [ -n "${RODP_PERFTEST_ONLY:-}" ] &&
	   ! grep -qE -- "$RODP_PERFTEST_ONLY" <<<"$1"; then
		NAME+=("$1")
		SPEC+=(skip)
		return
	fi
	NAME+=("$1")
	shift
	SPEC+=("$*")
}

# run_case I: run case I (0-based) and leave its verdict in
# $PT_DIR/caseN.result (N = I + 1): "ok" or "not ok", then diagnostics.
run_case()
{
	local i=$1 n=$(($1 + 1)) kind srv lines pairing id cres sres left
	local why='' notes=() res start cap
	id=case$n
	res=$PT_DIR/$id.result
	if [ "${SPEC[$i]}" = skip ]; then
		printf 'not ok\nnot selected (RODP_PERFTEST_ONLY)\n' >"$res"
		return
	fi
	# shellcheck disable=SC2086 # SPEC is words
	set -- ${SPEC[$i]}
	kind=$1 srv=$2 lines=$3 pairing=$4
	shift 4
	ends "$pairing"
	# rxe's requester (seen on 6.1 and 7.2) can break its own stream
	# when it retransmits: an ACK for the last PSN of a WQE it is
	# sending again moves its completion PSN past that WQE without
	# completing it, and its next retry then sends an empty SEND_ONLY
	# and shifts every later message by one PSN, which the responder
	# must refuse (README, "Known problems").  A loaded TCG guest
	# stalls for longer than perftest's default QP timeout (-u 14,
	# 67 ms) often enough to start such spurious retries: with rxe at
	# either end the QPs get 1 s (-u 18).
	case "$SDEV $CDEV:$1" in
	*rxe0*:ib_*|*rxe0*:*/ib_*)	set -- "$@" -u 18 ;;
	*:ib_*|*:*/ib_*)
		# A slow kernel (the debug kernel: RODP_TIME_SCALE) moves
		# a window of 256 packets in more than 67 ms: its QPs get
		# 1 s too, or the retries of a window still being taken
		# in pile up until the retry count runs out (ib_write_bw
		# -a at 4 MiB ended with a retry error there).
		[ "${RODP_TIME_SCALE:-1}" = 1 ] || set -- "$@" -u 18 ;;
	esac

	left=$((DEADLINE - SECONDS))
	if [ $left -lt 20 ]; then
		printf 'not ok\nnot run: the suite'"'"'s time is spent\n' >"$res"
		return
	fi
	# 60 s a side, times RODP_TIME_SCALE: on the debug kernel the -a
	# sweep between rodp and rxe takes about a minute each way.
	cap=$((60 * ${RODP_TIME_SCALE:-1}))
	PT_TIMEOUT=$((left - 10 < cap ? left - 10 : cap))
	start=$SECONDS
	# Two ports per case: pt_pair may run it twice.
	PT_PORT=$((PORT_BASE + 2 * n))
	odp_before "$i"
	PT_FAMILY=$FAMILY
	if ! pt_pair "$id" "$SNS" "$SDEV" "$CNS" "$CDEV" "$ADDR" "$@"; then
		why=$PT_WHY
	else
		cres=$(results "$kind" "$PT_DIR/$id.client")
		sres=$(results "$kind" "$PT_DIR/$id.server")
		if [ -z "$cres" ]; then
			why="the client printed no result line"
		elif [ "$(wc -l <<<"$cres")" -ne "$lines" ]; then
			why="the client printed $(wc -l <<<"$cres") result"
			why+=" lines, not $lines"
		elif ! positive "$kind" "$(tail -n 1 <<<"$cres")"; then
			why="the result is not positive: $(tail -n 1 <<<"$cres")"
		elif [ "$srv" = yes ] && [ -z "$sres" ]; then
			why="the server printed no result line"
		else
			odp_after "$i"
		fi
	fi
	[ "$PT_TIMEDOUT" = 0 ] ||
		notes+=("the first run timed out and was run again" \
			"($id.*.timeout)")
	[ "$PT_RETRIED" = 0 ] ||
		notes+=("run $((PT_RETRIED + 1)) times: perftest could not" \
			"measure the CPU clock before ($id.*.try*)")
	{
		if [[ $why == "perftest could not measure the CPU clock"* ]]
		then
			# perftest's own clock check, not rodp: not a
			# pass, not a failure (the summary lists skips).
			echo skip
			echo "$why ($((SECONDS - start)) s)"
		elif [ -z "$why" ]; then
			echo ok
			printf '%s\n' "${notes[@]}"
			echo "$(tail -n 1 <<<"$cres") ($((SECONDS - start)) s)"
		else
			echo "not ok"
			printf '%s\n' "$why ($((SECONDS - start)) s)" "${notes[@]}"
			echo "server $SDEV in $(ns_name "$SNS"), client $CDEV" \
				"in $(ns_name "$CNS") -> $ADDR: $*"
			echo "$id.server:"
			tail -n 6 "$PT_DIR/$id.server" | sed 's/^/  /'
			echo "$id.client:"
			tail -n 6 "$PT_DIR/$id.client" | sed 's/^/  /'
		fi
	} | grep -v '^$' >"$res.tmp"
	mv "$res.tmp" "$res"
}

# report I: case I's TAP line and diagnostics.
report()
{
	local res=$PT_DIR/case$(($1 + 1)).result verdict line

	verdict=$(head -n 1 "$res" 2>/dev/null)
	if [ "$verdict" = ok ]; then
		pass "${NAME[$1]}"
	elif [ "$verdict" = skip ]; then
		skip "${NAME[$1]}" \
			"perftest could not measure the CPU clock under TCG"
	else
		fail "${NAME[$1]}"
		[ -n "$verdict" ] || diag "the case left no verdict"
	fi
	tail -n +2 "$res" 2>/dev/null | while IFS= read -r line; do
		diag "$line"
	done
}

# tool_case PAIRING TOOL: one perftest test, small and short.
tool_case()
{
	local kind=bw srv=yes args=(-n 200)

	case $2 in
	*_lat)		kind=lat ;;
	esac
	case $2 in
	ib_read_lat|ib_atomic_lat)	srv=no ;;
	esac
	case $2 in
	ib_write_bw|ib_read_bw|ib_send_bw)	args+=(-s 65536) ;;
	ib_write_lat|ib_read_lat|ib_send_lat)	args+=(-s 2) ;;
	esac
	ends "$1"
	add "$2 ${args[*]}, $LABEL" $kind $srv 1 "$1" "$2" "${args[@]}"
}

# --odp cases (added by add_odp, at the end): ODP_DEVS[i] names the rodp
# devices whose odp_faults hw counter must move while case i runs, the
# proof that perftest's buffers went through rodp's ODP path.  The
# counters are read here, in the initial namespace (under ip netns exec
# the rodp devices' hw_counters are not there).  With
# RODP_PERFTEST_JOBS > 1 another --odp case may move them too.
ODP_DEVS=()
declare -A ODP_START=()

odp_faults()
{
	cat "/sys/class/infiniband/$1/ports/1/hw_counters/odp_faults" \
		2>/dev/null
}

# odp_before I / odp_after I: read the counters before case I; after it,
# set why (and notes) from how far they moved.
odp_before()
{
	local d

	for d in ${ODP_DEVS[$1]:-}; do
		ODP_START[$d]=$(odp_faults "$d")
	done
}

odp_after()
{
	local d v

	for d in ${ODP_DEVS[$1]:-}; do
		v=$(odp_faults "$d")
		if [ -z "$v" ] || [ -z "${ODP_START[$d]}" ]; then
			why="$d has no odp_faults hw counter"
			return
		fi
		if [ "$v" -le "${ODP_START[$d]}" ]; then
			why="$d's odp_faults did not move (${ODP_START[$d]}"
			why+=" -> $v): perftest --odp did not use the ODP path"
			return
		fi
		notes+=("$d odp_faults +$((v - ODP_START[$d]))")
	done
}

# In order of what matters most: rodp with itself, the tools' other
# modes, then rodp with rxe.  (Cases the suite's time does not reach
# fail; they come last.)
add "control: ib_write_bw -s 65536 -n 200, rxe0 loopback" \
	bw yes 1 rxe-loop ib_write_bw -s 65536 -n 200
for pairing in rodp-rodp rodp-loop; do
	for tool in $TOOLS; do
		tool_case "$pairing" "$tool"
	done
done
# modes_cases PAIRING: perftest's -a sweep, -D duration and -q QPs.
modes_cases()
{
	ends "$1"
	add "ib_write_bw -a -n 5 (2 B..8 MiB), $LABEL" \
		bw yes 23 "$1" ib_write_bw -a -n 5
	# 2 s, times RODP_TIME_SCALE: the debug kernel moved nothing at all
	# in 2 s.  With rxe at an end, times RODP_TIME_SCALE again: perftest
	# polls for the first time once it has posted its whole TX depth
	# (128 x 64 KiB), and only completions polled after the first
	# quarter of the duration count.  On the debug kernel rxe moves
	# about 1 MB/s, and a rodp doorbell also carries what rxe does with
	# the packets in softirq: 8 MiB took longer than 6 s of -D 8, and
	# nothing counted.
	local dur=$DUR
	[[ $1 != *rxe* ]] || dur=$((DUR * ${RODP_TIME_SCALE:-1}))
	add "ib_write_bw -D $dur -s 65536, $LABEL" \
		bw yes 1 "$1" ib_write_bw -D "$dur" -s 65536
	add "ib_write_bw -q 4 -n 200 -s 65536, $LABEL" \
		bw yes 1 "$1" ib_write_bw -q 4 -n 200 -s 65536
	# Both directions at once: each side is requester and responder.
	add "ib_write_bw -b -n 200 -s 65536 (bidirectional), $LABEL" \
		bw yes 1 "$1" ib_write_bw -b -n 200 -s 65536
	add "ib_send_bw -b -n 200 -s 65536 (bidirectional), $LABEL" \
		bw yes 1 "$1" ib_send_bw -b -n 200 -s 65536
}
modes_cases rodp-rodp
modes_cases rodp-loop
add "ibv_rc_pingpong -c -n 200 (data checked), rodp0 -> rodp1" \
	pp yes 1 rodp-rodp ibv_rc_pingpong -c -n 200
add "ibv_rc_pingpong -e -n 200 (CQ events), rodp0 -> rodp1" \
	pp yes 1 rodp-rodp ibv_rc_pingpong -e -n 200
for pairing in rodp-rxe rxe-rodp; do
	for tool in $TOOLS; do
		tool_case "$pairing" "$tool"
	done
	modes_cases "$pairing"
done
# Over IPv6 every bandwidth tool, or those RODP_PERFTEST_IPV6_TOOLS names
# (./rodp test without --full: ib_write_bw only, for the time budget).
for pairing in rodp-rodp6 rodp-loop6 rodp-rxe6 rxe-rodp6; do
	for tool in ${RODP_PERFTEST_IPV6_TOOLS:-ib_write_bw ib_read_bw ib_send_bw}; do
		tool_case "$pairing" "$tool"
	done
done
add "ibv_rc_pingpong -c -n 200 (data checked), rodp0 -> rodp1 over IPv6" \
	pp yes 1 rodp-rodp6 ibv_rc_pingpong -c -n 200

# perftest --odp (IBV_ACCESS_ON_DEMAND on the tool's own buffers), last.
# Between rodp devices both sides use --odp.  rxe on 6.1 has no ODP, so
# with rxe only the rodp side does: its tool is a wrapper (in ODP_WRAP)
# that adds --odp when it runs on a rodp device (perftest's --odp
# applies to each side's own MRs, nothing is negotiated).  Not with
# RODP_PERFTEST_DEVS=rxe: rxe0 cannot stand in for an ODP device.
ODP_WRAP=$(mktemp -d /tmp/perftest-odp.XXXXXX)
for tool in ib_write_bw ib_read_bw ib_send_bw; do
	cat >"$ODP_WRAP/$tool" <<EOF
#!/bin/bash
# $tool, with --odp on a rodp device (pt_pair runs it as TOOL -d DEV ...)
case \$2 in
rodp*)	exec $tool --odp "\$@" ;;
esac
exec $tool "\$@"
EOF
	chmod +x "$ODP_WRAP/$tool"
done

# add_odp DEVS NAME SPEC...: add a case whose rodp devices DEVS must
# count ODP faults.
add_odp()
{
	local devs=$1

	shift
	add "$@"
	ODP_DEVS[${#NAME[@]} - 1]=$devs
}

[ "$STANDIN" = rxe ] || for tool in ib_write_bw ib_read_bw ib_send_bw; do
	add_odp "rodp0 rodp1" "$tool --odp -n 200 -s 65536, rodp0 -> rodp1" \
		bw yes 1 rodp-rodp "$tool" --odp -n 200 -s 65536
done
# rxe has ODP of its own from 6.15 on: then --odp goes on both ends.
RXE_ODP=no
if ibv_devinfo -d rxe0 -v 2>/dev/null | grep -A1 general_odp_caps |
   grep -q ODP_SUPPORT; then
	RXE_ODP=yes
fi
[ "$STANDIN" = rxe ] || for pairing in rodp-rxe rxe-rodp; do
	ends "$pairing"
	for tool in ib_write_bw ib_read_bw ib_send_bw; do
		if [ $RXE_ODP = yes ]; then
			add_odp rodp0 \
				"$tool --odp -n 200 -s 65536, --odp on both ends, $LABEL" \
				bw yes 1 "$pairing" "$tool" --odp -n 200 -s 65536
			continue
		fi
		add_odp rodp0 \
			"$tool -n 200 -s 65536, --odp on rodp0 only, $LABEL" \
			bw yes 1 "$pairing" "$ODP_WRAP/$tool" -n 200 -s 65536
	done
done

total=${#NAME[@]}
plan "$total"
[ -z "$STANDIN" ] ||
	diag "RODP_PERFTEST_DEVS=$STANDIN: rxe0 stands in for every end"

# Up to JOBS cases at a time; report them in order as they end.
declare -A running=()
finished=()
next=0
reported=0
while [ $reported -lt "$total" ]; do
	while [ ${#running[@]} -lt "$JOBS" ] && [ $next -lt "$total" ]; do
		run_case $next &
		running[$!]=$next
		next=$((next + 1))
	done
	done_pid=
	wait -n -p done_pid "${!running[@]}"
	if [ -n "$done_pid" ]; then
		finished[${running[$done_pid]}]=1
		unset "running[$done_pid]"
	fi
	while [ $reported -lt "$total" ] &&
	      [ -n "${finished[$reported]:-}" ]; do
		report $reported
		reported=$((reported + 1))
	done
done
diag "both sides' output: $PT_DIR"
done_testing
