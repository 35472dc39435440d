#!/bin/bash
# scripts/bench-wire.sh: `./rodp bench --wire`, perftest across the
# two-guest wire (./rodp vm2, scripts/vm2.sh): guest A (rodp, 6.1) against
# guest B (newest kernel) with rodp and then upstream rxe, in one run
# (tests/wire/bench.sh).  Prints a table per test and size: rodp<->rodp,
# rodp<->rxe and the ratio rodp/rxe (bandwidth: higher is better,
# latency: lower is better) and keeps build/bench/wire-<date>-<time>/
# (wire-bench.tsv, table.txt, the pair's run folders).
# Exit status 0 when every measurement worked.
set -u
. "$(dirname "$0")/lib.sh"

out=$RODP_BUILD/bench/wire-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
"$RODP_ROOT/scripts/vm2.sh" --run-dir "$out/run" --timeout 1800 "$@" \
	-- "$RODP_ROOT/tests/wire/bench.sh" -- "$RODP_ROOT/tests/wire/agent.sh"
rc=$?
tsv=$out/run/a/wire-bench.tsv
[ -f "$tsv" ] || die "bench --wire: no results ($out/run)"
cp "$tsv" "$out/"
awk -F'\t' '
	NR == 1 { next }
	{
		k = $2 "\t" $3
		if (!(k in seen)) { seen[k] = 1; order[n++] = k }
		v[$1, k] = $4; unit[k] = $5
	}
	END {
		printf "%-16s %8s %14s %14s %7s\n", "test", "size",
			"rodp<->rodp", "rodp<->rxe", "ratio"
		for (i = 0; i < n; i++) {
			k = order[i]; split(k, f, "\t")
			a = v["rodp", k]; b = v["rxe", k]
			r = (a + 0 > 0 && b + 0 > 0) ? sprintf("%.2f", a / b) : "-"
			printf "%-16s %8s %9s %-4s %9s %-4s %7s\n", f[1], f[2],
				a == "" ? "-" : a, unit[k], b == "" ? "-" : b,
				unit[k], r
		}
		print "ratio = rodp<->rodp / rodp<->rxe (guest A rodp on 6.1," \
			" guest B on the newest kernel; A is the client)"
	}' "$tsv" | tee "$out/table.txt"
msg "bench --wire: results in $out"
exit $rc
