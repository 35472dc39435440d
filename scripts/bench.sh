#!/bin/bash
# scripts/bench.sh [options]: `./rodp bench`, perftest over rodp against
# the in-tree soft-RoCE (rxe) in one test guest.
#
# Boots one guest (scripts/vm.sh) that runs perftest/bench-guest.sh:
# ib_write_bw, ib_read_bw, ib_send_bw at 4 KiB, 64 KiB and 1 MiB and
# ib_write_lat, ib_read_lat, ib_send_lat at 2 bytes, over UD ib_send_bw
# at 1 KiB and ib_send_lat at 2 bytes (ud_send_bw, ud_send_lat), each on
# rxe0 to itself (the baseline), rodp0 to itself (same shape: the ratio
# that counts) and rodp0 (ns0) -> rodp1 (ns1); ib_write_bw and ib_read_bw at
# 64 KiB and 1 MiB also with --odp on the two rodp ends (rows
# "write_bw --odp", "read_bw --odp": rodp ODP against rxe pinned, and a
# table of rodp ODP against rodp pinned); then rodp-odp-bw --all (pinned,
# warm, cold, prefetched, implicit ODP; perftest/rodp-odp-bw.c).  Then,
# on the host, in build/bench/<date>-<time>/:
#   results.tsv  every measurement (from the guest)
#   summary.tsv  per test and size: the median of the passes for each
#                end, the ratio rodp/rxe and whether it meets the target;
#                for the --odp rows also rodp pinned and ODP/pinned
#   table.txt    the table printed at the end
#   odp-bw.txt   the output of rodp-odp-bw --all
#   bench.png    bandwidth against message size, rxe and rodp (gnuplot)
#   sweep.png    the same for the ib_write_bw -a sweep (--sweep)
#   run/         the guest run: console, kernel log, both sides' output
#                of every perftest pair (run/raw/)
# build/bench/latest points to the newest.
#
# Bandwidth is perftest's "BW average" (MB/sec, which is 2^20 bytes/s),
# latency its t_typical (the median, usec).  Targets: bandwidth
# rodp/rxe >= 1.0, latency rodp/rxe <= 1.2; perftest --odp (warm ODP)
# >= 0.95 x rodp pinned; rodp-odp-bw's own (see its output).
# Exit status: 0 when every measurement worked (targets missed or not),
# else the guest's status (1: some measurement failed; 121-125: see
# scripts/vm.sh).
set -u
. "$(dirname "$0")/lib.sh"

usage()
{
	cat <<'EOF'
usage: ./rodp bench [--kernel K] [--sweep] [--repeat N] [--budget S]
                    [--no-odp-bw] [--profile TEST:SIZE]
       ./rodp bench --report DIR
       ./rodp bench --wire [vm2 options]
  --kernel K    boot kernel K (6.1, 6.12, newest: see ./rodp vm); where
                rxe has ODP of its own (6.15 on) the --odp rows run on
                rxe0 too, and compare rodp ODP with rxe ODP
  --sweep       also ib_write_bw -a (2 B..8 MiB, 20 iterations per size)
                on each end, plotted in sweep.png (about 1 minute more)
  --repeat N    run the whole set N times and report medians (default 1;
                one pass takes about 3 minutes under TCG)
  --budget S    stop starting measurements after S seconds in the guest
                (default 660 per pass); those not run count as failed
  --no-odp-bw   do not run rodp-odp-bw --all (about 3 minutes) at the end
  --profile TEST:SIZE
                instead: TEST (write_bw, read_bw, send_bw, write_lat, ...,
                write_bw_odp or read_bw_odp: with --odp at both ends)
                at SIZE bytes once per end under perf record -a -g;
                profiles in build/bench/<date>-<time>/run/profile-END.txt
                (flat, inclusive and call graph; latency -n 300000)
  --wire        instead: perftest across the two-guest wire (./rodp vm2),
                rodp<->rodp and rodp<->rxe with their ratio, in one run
                (scripts/bench-wire.sh; other options go to vm2)
  --report DIR  no guest: make the table and plots again from the
                results of an earlier run (DIR: build/bench/<date>-<time>)
Results in build/bench/<date>-<time>/ (build/bench/latest).
EOF
	exit 2
}

sweep=0
repeat=1
budget=
report=
odp_bw=1
profile=
kopt=()
while [ $# -gt 0 ]; do
	case $1 in
	--wire)		shift; exec "$RODP_ROOT/scripts/bench-wire.sh" "$@" ;;
	--kernel)	kopt=(--kernel "${2:?}"); shift 2 ;;
	--report)	report=${2:?}; shift 2 ;;
	--sweep)	sweep=1; shift ;;
	--no-odp-bw)	odp_bw=0; shift ;;
	--profile)	profile=${2:?--profile wants TEST:SIZE}; odp_bw=0
			shift 2 ;;
	--repeat)	repeat=${2:?}; shift 2 ;;
	--budget)	budget=${2:?}; shift 2 ;;
	-h|--help)	usage ;;
	*)		msg "bench: unknown option $1"; usage ;;
	esac
done
case $repeat in
''|*[!0-9]*|0) die "--repeat wants a positive number, not '$repeat'" ;;
esac
budget=${budget:-$((660 * repeat))}
case $budget in
''|*[!0-9]*) die "--budget wants seconds, not '$budget'" ;;
esac

guest_args=(--repeat "$repeat" --budget "$budget")
[ $sweep = 0 ] || guest_args+=(--sweep)
[ $odp_bw = 1 ] || guest_args+=(--no-odp-bw)
[ -z "$profile" ] || guest_args+=(--profile "$profile")
# rodp-odp-bw's own bound in the guest (bench-guest.sh).
export RODP_BENCH_ODP_BW_TIMEOUT=${RODP_BENCH_ODP_BW_TIMEOUT:-420}

# run_guest: the measurements, into $out/run; sets rc.
run_guest()
{
	local top=$RODP_BUILD/bench

	mkdir -p "$top"
	out=$top/$(date +%Y%m%d-%H%M%S)
	[ ! -e "$out" ] || out=$out-$$
	mkdir -p "$out"
	ln -sfn "$(basename "$out")" "$top/latest"

	msg "bench: results in $out"
	# The guest stops starting pairs at the budget; a pair may take up
	# to a minute after that, and boot and set-up take half a minute;
	# rodp-odp-bw comes after, with its own bound.
	"$RODP_ROOT/scripts/vm.sh" "${kopt[@]}" --run-dir "$out/run" \
		--timeout $((budget + 180 + odp_bw *
			(RODP_BENCH_ODP_BW_TIMEOUT + 20))) -- \
		"$RODP_ROOT/perftest/bench-guest.sh" "${guest_args[@]}"
	rc=$?
}

if [ -n "$report" ]; then
	out=$(cd "$report" && pwd) || die "no such folder: $report"
	rc=$(sed -n 's/^rc=//p' "$out/run/result" 2>/dev/null)
	rc=${rc:-0}
else
	run_guest
fi

if [ ! -s "$out/run/results.tsv" ]; then
	msg "bench: the guest measured nothing ($(cat "$out/run/verdict" \
		2>/dev/null || echo "exit $rc"))"
	[ "$rc" -ne 0 ] || rc=1
	exit "$rc"
fi
cp "$out/run/results.tsv" "$out/results.tsv"
for f in odp-bw.txt odp-bw.stalled.txt; do
	[ ! -f "$out/run/$f" ] || cp "$out/run/$f" "$out/$f"
done
passes=$(awk -F '\t' 'NR > 1 && $1 > n { n = $1 } END { print n + 0 }' \
	"$out/results.tsv")
if [ -z "$report" ]; then
	# The module the guest loaded: build/cmake's for the default kernel,
	# build-kmod.sh's for the others.
	kv=$(sed -n 's/^kernel: //p' "$out/run/bench-info.txt" 2>/dev/null)
	ko=$RODP_CMAKE/kmod/kbuild/rodp.ko
	[ -z "$kv" ] || [ "$kv" = "$(rodp_kver)" ] ||
		ko=$RODP_BUILD/kmod/$kv/rodp/rodp.ko
	{
		cat "$out/run/bench-info.txt" 2>/dev/null
		echo "rodp: $(git -C "$RODP_ROOT" describe --always --dirty \
			2>/dev/null || echo unknown)," \
			"rodp.ko built $(date -r "$ko" '+%F %T' 2>/dev/null ||
			echo never)"
	} >"$out/bench-info.txt"
fi

# summary.tsv: one row per test and size, in the order measured.
#   test size unit rxe rodp ratio target rodp2 ratio2 pin pinratio
#   pin2 pinratio2 target2 rodp2p ratio2p memcpy memfrac memfrac2
# rodp2 is rodp0 -> rodp1 handed over directly (the default), rodp2p the
# same over the packet path; target and target2 the verdicts of rodp and
# rodp2 against the targets of issue 15 (bandwidth at 4 KiB >= 1.5 x
# rxe, at 64 KiB >= 2, at 1 MiB >= 3; write_lat and send_lat <= 0.8 x;
# other rows: bandwidth >= 1.0, latency <= 1.2); memcpy the guest's
# memcpy bandwidth at that size, memfrac and memfrac2 rodp's and rodp2's
# fraction of it.
# A cell is the median of its runs (one per pass, three per pass at the
# --odp sizes: ODP_TURNS), "FAIL" when none worked.  For
# an --odp test (TEST_odp) rxe is rxe's own --odp measurement where the
# kernel's rxe has ODP (the guest measured it), else TEST's rxe (pinned:
# rxe on 6.1 has no ODP); pin and pin2 are TEST's rodp and rodp2
# (pinned), pinratio and pinratio2 ODP/pinned; "-" in other rows.
awk -F '\t' '
function median(key,    n, i, j, t, a) {
	n = cnt[key]
	for (i = 1; i <= n; i++)
		a[i] = val[key, i]
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	if (n % 2)
		return a[(n + 1) / 2]
	return sprintf("%.2f", (a[n / 2] + a[n / 2 + 1]) / 2)
}
function cell(t, s, e) {
	if ((t SUBSEP s SUBSEP e) in cnt)
		return median(t SUBSEP s SUBSEP e)
	return "FAIL"
}
function ratio(a, b) {
	if (a == "FAIL" || b == "FAIL" || b + 0 == 0)
		return "n.a."
	return sprintf("%.2f", a / b)
}
function goal(t, s) {
	if (t ~ /_odp$/ || t ~ /_sweep$/)
		return "-"
	if (t == "write_lat" || t == "send_lat")
		return "<=0.8"
	if (t ~ /_lat$/)
		return "<=1.2"
	if (t !~ /^(write|read|send)_bw$/)
		return ">=1.0"
	if (s + 0 >= 1048576)
		return ">=3.0"
	if (s + 0 >= 65536)
		return ">=2.0"
	return ">=1.5"
}
function verdict(a, b, g,    q) {
	if (g == "-")
		return "-"
	if (a == "FAIL" || b == "FAIL")
		return "FAIL"
	q = ratio(a, b)
	if (q == "n.a.")
		return "n.a."
	if (g ~ /^<=/)
		return (q + 0 <= substr(g, 3) + 0) ? "ok" : "MISS"
	return (q + 0 >= substr(g, 3) + 0) ? "ok" : "MISS"
}
NR == 1 { next }
{
	t = $2; s = $3; e = $4
	if (s == "all") {		# a whole -a sweep failed
		allfail[t] = 1
		next
	}
	if (t == "memcpy") {
		if ($8 == "ok")
			mem[s] = $5
		next
	}
	sized[t] = 1
	had[t, s, e] = 1
	if (!((t SUBSEP s) in seen)) {
		seen[t, s] = 1
		order[++rows] = t SUBSEP s
	}
	if ($8 == "ok") {
		k = t SUBSEP s SUBSEP e
		val[k, ++cnt[k]] = $5
	}
}
END {
	OFS = "\t"
	print "test", "size", "unit", "rxe", "rodp", "ratio", "target",
		"rodp2", "ratio2", "pin", "pinratio", "pin2", "pinratio2",
		"target2", "rodp2p", "ratio2p", "memcpy", "memfrac",
		"memfrac2"
	for (t in allfail)
		if (!(t in sized))
			order[++rows] = t SUBSEP "all"
	for (r = 1; r <= rows; r++) {
		split(order[r], ts, SUBSEP)
		t = ts[1]; s = ts[2]
		lat = t ~ /_lat$/
		odp = t ~ /_odp$/
		base = odp ? substr(t, 1, length(t) - 4) : t
		x = cell(odp && ((t SUBSEP s SUBSEP "rxe") in had) ? t : base,
			s, "rxe")
		y = cell(t, s, "rodp")
		z = cell(t, s, "rodp2")
		q = ratio(y, x)
		p = p2 = pr = pr2 = "-"
		if (odp) {
			p = cell(base, s, "rodp"); p2 = cell(base, s, "rodp2")
			pr = ratio(y, p); pr2 = ratio(z, p2)
		}
		g = goal(t, s)
		v = verdict(y, x, g)
		v2 = verdict(z, x, g)
		if (g != "-") {
			v = v " (" g ")"
			v2 = v2 " (" g ")"
		}
		w = cell(t, s, "rodp2p")
		if (!((t SUBSEP s SUBSEP "rodp2p") in had))
			w = "-"
		m = (!lat && !odp && (s in mem)) ? mem[s] : "-"
		print t, s, lat ? "usec" : "MiB/s", x, y, q, v, z, ratio(z, x),
			p, pr, p2, pr2, v2, w, w == "-" ? "-" : ratio(w, x),
			m, m == "-" ? "-" : ratio(y, m),
			m == "-" ? "-" : ratio(z, m)
	}
}' "$out/results.tsv" >"$out/summary.tsv"

# The table.
human_size()
{
	case $1 in
	''|*[!0-9]*)
		echo "$1"
		return ;;
	esac
	if [ "$1" -ge 1048576 ]; then
		echo "$(($1 / 1048576)) MiB"
	elif [ "$1" -ge 1024 ]; then
		echo "$(($1 / 1024)) KiB"
	else
		echo "$1 B"
	fi
}
{
	printf '%-15s %6s %5s %8s %8s %5s %8s %5s %8s %5s  %-15s %-15s %8s %5s %5s\n' \
		test size unit "rxe0 lo" "rodp0 lo" "x" "0->1" "x" \
		"0->1 pkt" "x" "lo target" "0->1 target" memcpy "lo/m" \
		"1/m"
	tail -n +2 "$out/summary.tsv" |
	while IFS=$'\t' read -r t s u x y q v z q2 _ _ _ _ v2 w q3 m f f2; do
		case $t in
		write_bw_sweep) t="write_bw -a" ;;
		*_odp) t="${t%_odp} --odp" ;;
		esac
		printf '%-15s %6s %5s %8s %8s %5s %8s %5s %8s %5s  %-15s %-15s %8s %5s %5s\n' \
			"$t" "$(human_size "$s")" "$u" "$x" "$y" "$q" "$z" \
			"$q2" "$w" "$q3" "$v" "$v2" "$m" "$f" "$f2"
	done
	echo
	echo "bandwidth: perftest BW average (MiB/s); latency: t_typical" \
		"(median, usec); lo: loopback (server and client on one device);"
	echo "0->1: rodp0 (ns0) -> rodp1 (ns1) handed over directly" \
		"between the namespaces; 0->1 pkt: the same through veths and" \
		"the bridge (packet_path=1); x: against rxe0 lo;"
	echo "memcpy: the guest's memcpy at that size on the client's CPU;" \
		"lo/m, 1/m: rodp0 lo's and 0->1's fraction of it;"
	echo "a cell is the median of its runs: write_bw and read_bw at the" \
		"--odp sizes run three turns per pass, each end pinned and" \
		"then --odp"
	if grep -q $'^[a-z_]*_odp\t' "$out/summary.tsv"; then
		if grep -q $'\t[a-z_]*_odp\t[0-9]*\trxe\t' "$out/results.tsv"; then
			echo "--odp rows: perftest --odp on every end, rxe0's" \
				"own ODP included (this kernel's rxe has ODP)"
		else
			echo "--odp rows: perftest --odp on the rodp ends," \
				"rxe0 pinned (this kernel's rxe has no ODP)"
		fi
		echo
		echo "perftest --odp (warm ODP: perftest touches its buffers" \
			"first) against pinned, rodp:"
		printf '%-16s %8s %10s %10s %7s %-12s %10s %10s %7s\n' \
			test size "lo pinned" "lo --odp" odp/pin target \
			"0->1 pin" "0->1 odp" odp/pin
		tail -n +2 "$out/summary.tsv" |
		while IFS=$'\t' read -r t s _ _ y _ _ z _ p r p2 r2 _; do
			case $t in
			*_odp) ;;
			*) continue ;;
			esac
			v=FAIL
			case $r in
			n.a.|FAIL|-) ;;
			*) v=$(awk -v r="$r" 'BEGIN {
				print (r >= 0.95) ? "ok" : "MISS" }') ;;
			esac
			printf '%-16s %8s %10s %10s %7s %-12s %10s %10s %7s\n' \
				"${t%_odp}" "$(human_size "$s")" "$p" "$y" \
				"$r" "$v (>=0.95)" "$p2" "$z" "$r2"
		done
		echo
	fi
	echo "targets (issue 15): bandwidth x rxe >= 1.5 at 4 KiB, 2 at" \
		"64 KiB, 3 at 1 MiB; write_lat, send_lat <= 0.8; others" \
		">= 1.0 and <= 1.2; --odp >= 0.95 x pinned;" \
		"$(grep -c $'\tFAIL\t' "$out/results.tsv") measurements failed" \
		"($out/results.tsv)"
	echo "passes: $passes; guest: $(tr '\n' ';' <"$out/bench-info.txt" 2>/dev/null |
		sed 's/;$//; s/;/; /g')"
} >"$out/table.txt"
echo
cat "$out/table.txt"
if [ -f "$out/odp-bw.txt" ]; then
	echo
	echo "rodp-odp-bw --all ($out/odp-bw.txt):"
	cat "$out/odp-bw.txt"
elif [ $odp_bw = 1 ] && [ -z "$report" ]; then
	msg "bench: rodp-odp-bw left no output"
fi

# The plots.  gnuplot-nox has pngcairo; plain png (libgd) otherwise.
term=png
if gnuplot -e 'set terminal' 2>&1 | grep -qw pngcairo; then
	term=pngcairo
fi

# plot_data TEST... : DATA for perftest/plot.gp from summary.tsv, the
# sizes measured for the first TEST, three series (rxe, rodp, rodp2) per
# TEST; a series without a single number says so in its name.
plot_data()
{
	awk -F '\t' -v tests="$*" '
	BEGIN {
		nt = split(tests, T, " ")
		name[1] = "rxe0 loopback"; name[2] = "rodp0 loopback"
		name[3] = "rodp0 -> rodp1"
		col[1] = 4; col[2] = 5; col[3] = 8
	}
	NR == 1 { next }
	{
		for (i = 1; i <= nt; i++)
			if ($1 == T[i])
				break
		if (i > nt)
			next
		if (i == 1)
			sizes[++ns] = $2
		for (j = 1; j <= 3; j++) {
			v = $(col[j])
			if (v == "FAIL")
				v = "NaN"
			else
				got[i, j] = 1
			d[i, $2, j] = v
		}
	}
	END {
		printf "size"
		for (i = 1; i <= nt; i++)
			for (j = 1; j <= 3; j++)
				printf " \"%s%s\"", name[j],
					((i, j) in got) ? "" : " (FAIL)"
		printf "\n"
		for (k = 1; k <= ns; k++) {
			printf "%s", sizes[k]
			for (i = 1; i <= nt; i++)
				for (j = 1; j <= 3; j++) {
					v = d[i, sizes[k], j]
					printf " %s", v == "" ? "NaN" : v
				}
			printf "\n"
		}
	}' "$out/summary.tsv"
}

plot()
{
	local png=$1 panels=$2 step=$3 title

	shift 3
	plot_data "$@" >"${png%.png}.dat"
	# A line wants two sizes at least (--profile measures one).
	if [ "$(wc -l <"${png%.png}.dat")" -lt 3 ]; then
		echo "plot: none for one message size"
		return 0
	fi
	title="rodp bench $(basename "$out"): perftest 4.5, Debian $(rodp_kver)"
	title+=" guest under QEMU TCG"
	[ "$passes" -lt 2 ] || title+=", median of $passes passes"
	if gnuplot -c "$RODP_ROOT/perftest/plot.gp" "${png%.png}.dat" \
		"$png" "$term" "$panels" "$title" "$step" \
		>"${png%.png}.log" 2>&1 && [ -s "$png" ]; then
		echo "plot: $png"
	else
		msg "bench: gnuplot failed (${png%.png}.log)"
		rm -f "$png"
	fi
}

plot "$out/bench.png" "ib_write_bw ib_read_bw ib_send_bw" 2 \
	write_bw read_bw send_bw
if grep -q $'\twrite_bw_sweep\t' "$out/results.tsv"; then
	plot "$out/sweep.png" "ib_write_bw_-a" 3 write_bw_sweep
fi
echo "results: $out"

if [ "$rc" -eq 0 ] && grep -q $'\tFAIL\t' "$out/results.tsv"; then
	rc=1
fi
exit "$rc"
