#!/bin/bash
# perftest/bench-guest.sh [--sweep] [--repeat N] [--budget S]: the guest
# side of `./rodp bench` (scripts/bench.sh boots the guest and runs it).
#
# Runs Debian's perftest 4.5 between the ends of the default topology
# (tests/vm/harness/topology.sh), one pair after the other:
#   rxe   rxe0 to itself (loopback; rxe on 6.1 works only in the initial
#         namespace, and two rxe devices in one namespace cannot talk):
#         the baseline
#   rodp  rodp0 to itself (loopback in ns0): the same shape as the
#         baseline, the ratio that counts
#   rodp2 rodp0 (ns0) -> rodp1 (ns1): handed over directly between the
#         namespaces (kmod/rodp_direct.c), the default
#   rodp2p the same with every packet through the veths and the bridge
#         (module parameter packet_path=1): the packet path
# Tests: ib_write_bw, ib_read_bw, ib_send_bw at 4 KiB, 64 KiB and 1 MiB
# (fixed iteration counts: bw_iters()), ib_write_lat, ib_read_lat, ib_send_lat at
# 2 bytes; the four ends take turns for each test and size, so a drift
# of the (shared, emulated) machine hits them alike.  ODP: ib_write_bw
# and ib_read_bw at 64 KiB and 1 MiB also run with --odp on the two rodp
# ends (tests write_bw_odp and read_bw_odp, ends rodp and rodp2), and on
# rxe0 too where rxe reports ODP (from 6.15 on; not 6.1), each right
# after the same end's pinned run; at those sizes every end takes
# ODP_TURNS (3) turns, and the host reports the median of each cell.
# UD: ib_send_bw -c UD at 1 KiB (a datagram is at most the path MTU:
# 1024 at the guest's MTU 1500) and ib_send_lat -c UD at 2 bytes (tests
# ud_send_bw and ud_send_lat), on the four ends.
# memcpy: rodp-memcpy-bw at 4 KiB, 64 KiB and 1 MiB on the client's CPU
# once per pass (test memcpy, end cpu): the ceiling of one copy per byte.
# --sweep adds ib_write_bw -a (2 B..8 MiB) per end; --repeat N runs the
# whole set N times (the host takes the median).  Measurements not
# started when --budget S seconds (default 660) have passed are recorded
# as failed.
#
# Then, once (not part of the budget; --no-odp-bw skips it),
# rodp-odp-bw --all, rodp0 -> rodp1 in this (the initial) namespace:
# RDMA WRITE into pinned, warm, cold, prefetched and implicit ODP memory
# with the ODP counters, its output in $RODP_VM_RUN/odp-bw.txt
# (RODP_BENCH_ODP_BW_ARGS: more options for it, e.g. "--op read").  A
# run that stalls (a transfer without a completion for 30 s: it prints
# the QP states and counters, exit 3) is run once more, the first output
# kept in odp-bw.stalled.txt, and the bench says so.
#
# --profile TEST:SIZE instead measures that one test (write_bw, read_bw,
# send_bw, write_lat, read_lat or send_lat, or write_bw_odp or
# read_bw_odp for the same with --odp; SIZE in bytes) once on each
# end with `perf record -a -g` (cpu-clock: TCG has no PMU) running, and
# writes each end's profile, the flat one and the call graph, to
# $RODP_VM_RUN/profile-END.txt.
#
# Writes $RODP_VM_RUN/results.tsv, one row per measurement (appended as
# it goes, so a guest that dies keeps what was measured):
#   rep test size end value extra iters status note
# value: BW average (MB/s as perftest prints it: 2^20 bytes/s) or
# t_typical (the median latency, usec); extra: BW peak or t_avg.
# status: ok or FAIL (then note says why).  Both sides' output stays in
# $RODP_VM_RUN/raw/.  Exit status 0 only when every measurement worked
# (rodp-odp-bw included: its exit status is in odp-bw.rc).
set -u
. "$(dirname "$0")/lib.sh"

sweep=0
repeat=1
budget=660
odp_bw=1
profile=
while [ $# -gt 0 ]; do
	case $1 in
	--sweep)	sweep=1; shift ;;
	--profile)	profile=${2:?}; odp_bw=0; shift 2 ;;
	--no-odp-bw)	odp_bw=0; shift ;;
	--repeat)	repeat=${2:?}; shift 2 ;;
	--budget)	budget=${2:?}; shift 2 ;;
	*)		echo "bench-guest: unknown option $1" >&2; exit 2 ;;
	esac
done

OUT=${RODP_VM_RUN:?not in a rodp test guest}
PT_DIR=$OUT/raw
# A measurement takes a few seconds on rxe under TCG; a pair that needs
# a minute is broken, and the rest must still run.
PT_TIMEOUT=${RODP_BENCH_PAIR_TIMEOUT:-60}
TSV=$OUT/results.tsv
ENDS="rxe rodp rodp2 rodp2p"
SIZES="4096 65536 1048576"
# Sizes of the --odp rows (ib_write_bw and ib_read_bw only).
ODP_SIZES="65536 1048576"
ODP_BW=${RODP_REPO:?not in a rodp test guest}/build/cmake/perftest/rodp-odp-bw
MEMCPY_BW=$RODP_REPO/build/cmake/perftest/rodp-memcpy-bw
PACKET_PATH=/sys/module/rodp/parameters/packet_path
# The ends of the --odp rows: rxe0 too when it has ODP of its own.
ODP_ENDS="rodp rodp2"
if ibv_devinfo -d rxe0 -v 2>/dev/null | grep -A1 general_odp_caps |
   grep -q ODP_SUPPORT; then
	ODP_ENDS="rxe rodp rodp2 rodp2p"
fi
deadline=$((SECONDS + budget))
failures=0

# Iterations per BW measurement: 40 to 200 MB each, about 0.5-1.5 s on
# the host-local rodp ends and 1-5 s on rxe0.  (Before 8a55581 they were
# 8 to 50 MB: a quarter of a second on rodp, so short that perftest's
# start, the first touch of an ODP mirror and a moment's noise on the
# host moved single ratios by 0.1 and more.)
bw_iters()
{
	case $1 in
	4096)		echo 10000 ;;
	65536)		echo 2000 ;;
	*)		echo 200 ;;
	esac
}

# Turns of the sizes with --odp rows: each end, pinned and then --odp
# right after it, this many times over; the host reports medians.  Pairs
# of single runs of about a second moved by 0.1 either way on this
# emulated machine (on 2026-12-07: 0.86 to 1.42 in one run).
ODP_TURNS=3

# Round trips per latency measurement: 0.2-0.5 s (1000 before 8a55581:
# 20-50 ms, as noisy).
LAT_ITERS=10000

# ends END: sets SNS SDEV CNS CDEV ADDR for pt_pair, and rodp's delivery
# mode (packet_path: 1 for rodp2p only).
ends()
{
	local pkt=0

	case $1 in
	rxe)	set -- - rxe0 - rxe0 10.77.0.2 ;;
	rodp)	set -- ns0 rodp0 ns0 rodp0 10.77.0.10 ;;
	rodp2)	set -- ns1 rodp1 ns0 rodp0 10.77.0.11 ;;
	rodp2p)	set -- ns1 rodp1 ns0 rodp0 10.77.0.11; pkt=1 ;;
	esac
	SNS=$1 SDEV=$2 CNS=$3 CDEV=$4 ADDR=$5
	echo $pkt >"$PACKET_PATH"
}

# memcpy_rows REP: the guest's memcpy bandwidth on the client's CPU.
memcpy_rows()
{
	local cpu=${PT_CPUS%%,*} size v pre=() out

	[ -z "$cpu" ] || pre=(taskset -c "$cpu")
	# (Not "< <(...)": the guest has no /dev/fd.)
	# shellcheck disable=SC2086 # one size per word
	if ! out=$("${pre[@]}" "$MEMCPY_BW" $SIZES); then
		row "$1" memcpy all cpu "" "" "" FAIL "rodp-memcpy-bw failed"
		failures=$((failures + 1))
		return
	fi
	while read -r size v; do
		row "$1" memcpy "$size" cpu "$v" "" "" ok ""
		printf '%-10s %8s %-6s %10s MB/s\n' memcpy "$size" cpu "$v"
	done <<<"$out"
}

row()
{
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$TSV"
}

# measure REP TEST END KIND TOOL [ARG...]: one pair; a row per result
# line (one, or one per size for -a).  KIND: bw or lat.
measure()
{
	local rep=$1 test=$2 end=$3 kind=$4 id lines size line note
	local v e n
	shift 4
	size=-
	case " $* " in
	*" -a "*)	size=all ;;
	*" -s "*)	size=$(sed -E 's/.* -s ([0-9]+) .*/\1/' <<<" $* ") ;;
	esac
	id=r$rep-$test-$size-$end
	if [ $SECONDS -ge $deadline ]; then
		row "$rep" "$test" "$size" "$end" "" "" "" FAIL \
			"not run: the ${budget}s budget is spent"
		failures=$((failures + 1))
		printf '%-10s %8s %-6s FAIL (budget spent)\n' "$test" "$size" "$end"
		return
	fi
	ends "$end"
	note=
	if ! pt_pair "$id" "$SNS" "$SDEV" "$CNS" "$CDEV" "$ADDR" "$@"; then
		note=$PT_WHY
	else
		if [ "$kind" = bw ]; then
			lines=$(pt_bw "$PT_DIR/$id.client")
		else
			lines=$(pt_lat "$PT_DIR/$id.client")
		fi
		[ -n "$lines" ] || note="no result line"
	fi
	if [ -n "$note" ]; then
		row "$rep" "$test" "$size" "$end" "" "" "" FAIL "$note"
		failures=$((failures + 1))
		printf '%-10s %8s %-6s FAIL: %s\n' "$test" "$size" "$end" "$note"
		return
	fi
	[ "$PT_RETRIED" = 0 ] ||
		note="run $((PT_RETRIED + 1)) times: perftest could not measure the CPU clock before"
	while read -r line; do
		# bw: SIZE ITERS PEAK AVG RATE; lat: SIZE ITERS MIN MAX TYP AVG
		# shellcheck disable=SC2086 # words
		set -- $line
		n=$2
		if [ "$kind" = bw ]; then
			v=$4 e=$3
		else
			v=$5 e=$6
		fi
		if ! pt_number "$v"; then
			row "$rep" "$test" "$1" "$end" "" "" "$n" FAIL \
				"perftest printed '$v'"
			failures=$((failures + 1))
			printf '%-10s %8s %-6s FAIL: %s\n' "$test" "$1" "$end" \
				"perftest printed '$v'"
			continue
		fi
		row "$rep" "$test" "$1" "$end" "$v" "$e" "$n" ok "$note"
		printf '%-10s %8s %-6s %10s %s\n' "$test" "$1" "$end" "$v" \
			"$([ "$kind" = bw ] && echo MB/s || echo usec)"
	done <<<"$lines"
}

mkdir -p "$PT_DIR"
printf 'rep\ttest\tsize\tend\tvalue\textra\titers\tstatus\tnote\n' >"$TSV"
{
	echo "kernel: $(uname -r)"
	echo "perftest: $(dpkg-query -W -f '${Version}' perftest 2>/dev/null)"
	echo "rdma-core: $(dpkg-query -W -f '${Version}' libibverbs1 2>/dev/null)"
	echo "cpus: $(nproc)"
	for d in rxe0 rodp0 rodp1; do
		echo "$d: gid index $(pt_gid "$d" || echo none)"
	done
	echo "bw iterations: 4096 x $(bw_iters 4096), 65536 x" \
		"$(bw_iters 65536), 1048576 x $(bw_iters 1048576);" \
		"latency: 2 B x $LAT_ITERS"
	echo "odp: ib_write_bw, ib_read_bw --odp at ${ODP_SIZES// /, }" \
		"on ${ODP_ENDS// /, }"
} >"$OUT/bench-info.txt"
cat "$OUT/bench-info.txt"

# profile_end TEST SIZE END [TAG]: one measurement under perf record,
# the profile in profile-END[-TAG].txt.
profile_end()
{
	local test=$1 size=$2 end=$3 name=$3${4:+-$4} kind=bw iters=()
	local data=$OUT/perf-$3.data ppid tool=ib_${1%_odp} odp=()

	# Long enough that the transfer, not the tools' start-up and
	# perftest's own second of sleep, fills the profile.
	case $test in
	*_lat)	kind=lat iters=(-n 300000) ;;
	*)	iters=(-D 10) ;;
	esac
	[ "$tool" = "ib_$test" ] || odp=(--odp)
	perf record -q -a -g -e cpu-clock -F 499 -o "$data" \
		>"$OUT/perf-$name.log" 2>&1 &
	ppid=$!
	sleep 1
	measure 1 "$test" "$end" "$kind" "$tool" "${odp[@]}" -s "$size" \
		"${iters[@]}"
	kill -INT "$ppid"
	wait "$ppid"
	{
		echo "# $test $size B on $end: perf record -a -g -e cpu-clock"
		echo "# result: $(tail -n 1 "$TSV" | cut -f 2-8)"
		perf report -i "$data" --no-children --sort dso,sym --stdio \
			--percent-limit 0.5 -g none 2>/dev/null
		echo "# inclusive (children), 1% and more"
		perf report -i "$data" --children --sort sym --stdio \
			--percent-limit 1 -g none 2>/dev/null
		echo "# call graph (callers), 2% and more"
		perf report -i "$data" --no-children --sort sym --stdio \
			--percent-limit 2 -g caller,0.5,callee 2>/dev/null
	} >"$OUT/profile-$name.txt"
	rm -f "$data"
	echo "--- $end: the top of profile-$name.txt"
	grep -E '^ +[0-9.]+%' "$OUT/profile-$name.txt" | head -n 15
}

if [ -n "$profile" ]; then
	command -v perf >/dev/null || { echo "bench: no perf" >&2; exit 2; }
	# 300000 round trips take minutes on the packet path under TCG.
	PT_TIMEOUT=$((PT_TIMEOUT * 5))
	ptest=${profile%%:*} psize=${profile#*:} pends=$ENDS pinned=
	# ODP: pinned memory first, the same end and size, to set against
	# it (profile-END-pinned.txt).
	case $ptest in
	*_odp)	pends=$ODP_ENDS pinned=${ptest%_odp} ;;
	esac
	for end in $pends; do
		[ -z "$pinned" ] ||
			profile_end "$pinned" "$psize" "$end" pinned
		profile_end "$ptest" "$psize" "$end"
	done
	echo 0 >"$PACKET_PATH"
	[ $failures -eq 0 ]
	exit
fi

for rep in $(seq 1 "$repeat"); do
	[ "$repeat" = 1 ] || echo "--- pass $rep of $repeat"
	memcpy_rows "$rep"
	for test in write_bw read_bw send_bw; do
		for size in $SIZES; do
			with_odp=0
			[ "$test" = send_bw ] ||
				case " $ODP_SIZES " in
				*" $size "*)	with_odp=1 ;;
				esac
			for _ in $(seq 1 $((with_odp ? ODP_TURNS : 1))); do
				for end in $ENDS; do
					measure "$rep" "$test" "$end" bw \
						"ib_$test" -s "$size" \
						-n "$(bw_iters "$size")"
					[ $with_odp = 1 ] || continue
					case " $ODP_ENDS " in
					*" $end "*)	;;
					*)		continue ;;
					esac
					measure "$rep" "${test}_odp" "$end" bw \
						"ib_$test" --odp -s "$size" \
						-n "$(bw_iters "$size")"
				done
			done
		done
	done
	for end in $ENDS; do
		# (2000: a datagram lost on the way would leave the server
		# waiting, so as few as measure well.)
		measure "$rep" ud_send_bw "$end" bw ib_send_bw -c UD \
			-s 1024 -n 2000
	done
	for test in write_lat read_lat send_lat; do
		for end in $ENDS; do
			measure "$rep" "$test" "$end" lat "ib_$test" \
				-s 2 -n "$LAT_ITERS"
		done
	done
	for end in $ENDS; do
		measure "$rep" ud_send_lat "$end" lat ib_send_lat -c UD \
			-s 2 -n "$LAT_ITERS"
	done
	if [ $sweep = 1 ]; then
		for end in $ENDS; do
			measure "$rep" write_bw_sweep "$end" bw ib_write_bw \
				-a -n "${RODP_BENCH_SWEEP_ITERS:-20}"
		done
	fi
done

echo 0 >"$PACKET_PATH"
echo "bench: $failures measurements failed"

# rodp-odp-bw --all: its own table, kept as it prints it.
if [ $odp_bw = 1 ]; then
	echo "--- rodp-odp-bw --all ${RODP_BENCH_ODP_BW_ARGS:-}"
	odp_deadline=$((SECONDS + ${RODP_BENCH_ODP_BW_TIMEOUT:-420}))
	for try in 1 2; do
		# shellcheck disable=SC2086 # options, split on blanks
		timeout -k 5 $((odp_deadline - SECONDS)) \
			"$ODP_BW" --all ${RODP_BENCH_ODP_BW_ARGS:-} \
			>"$OUT/odp-bw.txt" 2>&1
		rc=$?
		[ $try = 1 ] && [ $rc = 3 ] &&
			grep -q "no completion for" "$OUT/odp-bw.txt" &&
			[ $((odp_deadline - SECONDS)) -gt 60 ] || break
		mv "$OUT/odp-bw.txt" "$OUT/odp-bw.stalled.txt"
		echo "bench: rodp-odp-bw stalled, run again" \
			"(odp-bw.stalled.txt):"
		grep "^rodp-odp-bw:" "$OUT/odp-bw.stalled.txt"
	done
	echo "$rc" >"$OUT/odp-bw.rc"
	cat "$OUT/odp-bw.txt"
	[ ! -f "$OUT/odp-bw.stalled.txt" ] ||
		echo "(the first run stalled: odp-bw.stalled.txt)" \
			>>"$OUT/odp-bw.txt"
	if [ $rc -ne 0 ]; then
		echo "bench: rodp-odp-bw failed (exit $rc)"
		failures=$((failures + 1))
	fi
fi
[ $failures -eq 0 ]
