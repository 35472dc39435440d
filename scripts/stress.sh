#!/bin/bash
# scripts/stress.sh [options]: `./rodp stress`, process exit during
# transfers by the cycle (perftest/rodp-exit-stress.c) in one test guest,
# rodp0 (the victim's device) against rodp1 and against rxe0.
#
# Results in build/stress/<id>/ (build/stress/latest: the newest):
#   DEV-PEER/cycles.tsv   one row per cycle, appended run after run
#   DEV-PEER/summary.tsv  one row per scenario over all the cycles:
#                         cycles, failures, the survivor's first error
#                         statuses, its latency p50/p99/max (ms)
#   DEV-PEER/summary.txt  the same as a table
#   DEV-PEER/latency.png  the latency per scenario (gnuplot)
#   DEV-PEER/kmsg.txt     the kernel log of the cycles
#   kmemleak-N.txt        a kernel with kmemleak (the debug kernel): its
#                         report after run N (a report fails the run)
#   run-N/                the guest run (console, dmesg, the tool's output)
# A later run with --id ID goes on where ID stopped (resumable chunks):
# the cycle count, the seed and the table carry on.
# Exit status: 0 when every cycle of this run passed, else non-zero.
set -u
. "$(dirname "$0")/lib.sh"

usage()
{
	cat <<'EOF2'
usage: ./rodp stress [--cycles N] [--scenario NAME]... [--seed S]
                     [--kernel K] [--id ID] [--chunk M] [--pairs LIST]
  --cycles N     N cycles in all, split evenly over the pairs (default
                 144: 6 per scenario and pair; each scenario's matrix
                 memory x op x victim role is covered every 24 cycles)
  --scenario S   only scenario S (repeatable): sigkill exit0 abort
                 prefetch inval mt fuse fork import oom teardown
                 faultunmap
  --seed S       the seed (kept with the results; default: from the time)
  --kernel K     boot kernel K (./rodp vm --kernel)
  --id ID        results in build/stress/ID; an ID that exists resumes
                 (default: <date>-<time>, a new campaign)
  --chunk M      at most M cycles per pair in this run (then run again
                 with the same --id to go on)
  --pairs LIST   "DEV:PEER ..." (default "rodp0:rodp1 rodp0:rxe0")
EOF2
	exit 2
}

cycles=144
seed=
id=
chunk=0
pairs="rodp0:rodp1 rodp0:rxe0"
kopt=()
targs=()
while [ $# -gt 0 ]; do
	case $1 in
	--cycles)	cycles=${2:?}; shift 2 ;;
	--scenario)	targs+=(--scenario "${2:?}"); shift 2 ;;
	--seed)		seed=${2:?}; shift 2 ;;
	--kernel)	kopt=(--kernel "${2:?}"); shift 2 ;;
	--id)		id=${2:?}; shift 2 ;;
	--chunk)	chunk=${2:?}; shift 2 ;;
	--pairs)	pairs=${2:?}; shift 2 ;;
	-h|--help)	usage ;;
	*)		msg "stress: unknown option $1"; usage ;;
	esac
done
for n in "$cycles" "$chunk"; do
	case $n in
	''|*[!0-9]*) die "--cycles and --chunk want numbers, not '$n'" ;;
	esac
done
[ -z "$seed" ] || targs+=(--seed "$seed")
npairs=$(wc -w <<<"$pairs")
[ "$npairs" -gt 0 ] || die "--pairs is empty"
until=$(((cycles + npairs - 1) / npairs))

top=$RODP_BUILD/stress
id=${id:-$(date +%Y%m%d-%H%M%S)}
out=$top/$id
mkdir -p "$out"
ln -sfn "$id" "$top/latest"
n=1
while [ -e "$out/run-$n" ]; do n=$((n + 1)); done
run=$out/run-$n

# A cycle takes 1 to 5 s under TCG, its checks included; on the debug
# kernel (KASAN, lockdep) allow four times that.
left=$until
[ "$chunk" = 0 ] || [ "$chunk" -ge "$until" ] || left=$chunk
per=8
if [ "${kopt[1]:-}" = debug ]; then
	per=32
	export RODP_TIME_SCALE=4	# the survivor's slack too
fi
msg "stress: results in $out (run $n: up to $left cycles per pair)"
"$RODP_ROOT/scripts/vm.sh" --need-rodp "${kopt[@]}" --run-dir "$run" \
	--timeout $((180 + npairs * left * per)) -- \
	"$RODP_ROOT/perftest/stress-guest.sh" "$out" "$pairs" "$until" \
	"$chunk" "${targs[@]}"
rc=$?

for pair in $pairs; do
	d=${pair%%:*}-${pair#*:}
	if [ ! -d "$run/$d" ]; then
		msg "stress: no results for $d"
		[ "$rc" != 0 ] || rc=1
		continue
	fi
	mkdir -p "$out/$d"
	cp "$run/$d"/cycles.tsv "$run/$d"/kmsg.txt "$run/$d"/summary.* \
		"$out/$d/" 2>/dev/null
	gnuplot -c "$RODP_ROOT/perftest/stress-plot.gp" \
		"$out/$d/summary.tsv" "$out/$d/latency.png" \
		"${pair%%:*} <-> ${pair#*:}" 2>/dev/null
	echo
	cat "$out/$d/summary.txt" 2>/dev/null
	echo "cycles: $(($(wc -l <"$out/$d/cycles.tsv") - 1)) in" \
		"$out/$d/cycles.tsv; failed: $(grep -c $'\tFAIL\t' \
		"$out/$d/cycles.tsv")"
done
# The guest's kmemleak report (perftest/stress-guest.sh), if any.
if [ -s "$run/kmemleak.txt" ]; then
	cp "$run/kmemleak.txt" "$out/kmemleak-$n.txt"
	echo "kmemleak: a report after this run: $out/kmemleak-$n.txt"
	[ "$rc" != 0 ] || rc=1
elif [ -e "$run/kmemleak.txt" ]; then
	echo "kmemleak: no report after this run"
fi
echo "results: $out"
exit "$rc"
