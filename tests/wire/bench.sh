#!/bin/bash
# tests/wire/bench.sh: perftest across the wire, run in guest A of
# ./rodp vm2 (tests/wire/agent.sh in guest B) by `./rodp bench --wire`
# (scripts/bench-wire.sh).  Guest A's rodp0 is the client; guest B's
# device is, in turn, rodp0 and rxe0 (RODP_WIRE_PEERS).  Measures
# ib_write_bw, ib_read_bw, ib_send_bw at 64 KiB and 1 MiB (pinned and,
# for write and read, --odp at both ends when both report ODP) and
# ib_write_lat, ib_send_lat, ib_read_lat at 2 bytes, and writes
# $RODP_VM_RUN/wire-bench.tsv: peer, test, size, value (MB/s or usec),
# unit, status.  Exit status 0 when every measurement worked.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/harness/tap.sh
. "$here/../vm/harness/tap.sh"
# shellcheck source=tests/wire/lib.sh
. "$here/lib.sh"

PEERS=${RODP_WIRE_PEERS:-rodp rxe}
TSV=${RODP_VM_RUN:-/tmp}/wire-bench.tsv
mkdir -p "$OUT"
T=120
bad=0
wire_peer_ready 300 || { echo "bench: guest B not ready" >&2; exit 1; }
printf 'peer\ttest\tsize\tvalue\tunit\tstatus\n' >"$TSV"

# one PEER TEST SIZE TOOL ARG...: one measurement, A the client.
one()
{
	local peer=$1 test=$2 size=$3 tool=$4 id v unit=MB/s st=ok
	shift 4
	id=bench-$peer-$test-$size
	id=${id// /}
	# Every counter of both ends that moved, in $id.counters.
	wire_counters rodp0 >"$OUT/$id.cnt-a0"
	remote "wire_counters \$(wire_dev)" >"$OUT/$id.cnt-b0"
	pair "$id" ba "$tool" -s "$size" "$@"
	wire_counters rodp0 >"$OUT/$id.cnt-a1"
	remote "wire_counters \$(wire_dev)" >"$OUT/$id.cnt-b1"
	{
		join "$OUT/$id.cnt-a0" "$OUT/$id.cnt-a1" |
			awk '$3 != $2 { print "A rodp0", $1, $3 - $2 }'
		join "$OUT/$id.cnt-b0" "$OUT/$id.cnt-b1" |
			awk '$3 != $2 { print "B", $1, $3 - $2 }'
	} >"$OUT/$id.counters"
	rm -f "$OUT/$id".cnt-[ab][01]
	case $tool in
	*_bw) v=$(awk '/#bytes/ && /BW average/ { on = 1; next }
		on && $1 ~ /^[0-9]+$/ && NF >= 5 { print $4; exit }' \
		"$OUT/$id.a") ;;
	*) unit=usec
	   v=$(awk '/#bytes/ && /t_typical/ { on = 1; next }
		on && $1 ~ /^[0-9]+$/ && NF >= 7 { print $5; exit }' \
		"$OUT/$id.a") ;;
	esac
	if [ "$PAIR_S" != 0 ] || [ "$PAIR_C" != 0 ] || [ -z "$v" ]; then
		st="FAIL(server $PAIR_S client $PAIR_C)"
		bad=1
		diag "$id: counters that moved: $(tr '\n' ';' <"$OUT/$id.counters")"
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$peer" "$test" "$size" "${v:--}" \
		$unit "$st" | tee -a "$TSV"
}

wire_use rodp >/dev/null
for peer in $PEERS; do
	remote "wire_use $peer" >/dev/null || { bad=1; continue; }
	odp=0
	pdev=$(remote wire_dev)
	wire_odp rodp0 && remote "wire_odp $pdev" >/dev/null && odp=1
	for t in write read send; do
		one $peer ${t}_bw 65536 ib_${t}_bw -n 400
		one $peer ${t}_bw 1048576 ib_${t}_bw -n 40
	done
	for t in write read; do
		if [ $odp = 1 ]; then
			one $peer "${t}_bw --odp" 65536 ib_${t}_bw -n 400 --odp
			one $peer "${t}_bw --odp" 1048576 ib_${t}_bw -n 40 --odp
		else
			printf '%s\t%s\t%s\t-\tMB/s\tno ODP at one end\n' \
				$peer "${t}_bw --odp" 65536 | tee -a "$TSV"
		fi
	done
	for t in write send read; do
		one $peer ${t}_lat 2 ib_${t}_lat -n 1000
	done
done
exit $bad
