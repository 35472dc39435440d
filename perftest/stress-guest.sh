#!/bin/bash
# perftest/stress-guest.sh PREV_DIR PAIRS UNTIL CHUNK [TOOL_ARG...]: the
# guest side of `./rodp stress` (scripts/stress.sh).  For each pair
# "DEV:PEER" in PAIRS (space separated), runs rodp-exit-stress with
# DEV the victim's device, in $RODP_VM_RUN/DEV-PEER, after copying the
# pair's earlier results from PREV_DIR/DEV-PEER (read-only here: the
# host's build/stress/<id>/) so that the run goes on counting: it stops
# when the folder holds UNTIL cycles, or after CHUNK cycles (0: no
# chunk limit).  On a kernel with kmemleak, a scan at the end (its
# report in $RODP_VM_RUN/kmemleak.txt; cleared before the cycles).  rdma_rxe is reloaded first (its WARN_ON_ONCE()s fire
# once per load; see tests/vm/suites/58-kill.sh).
# Exit status: 0 when every pair's cycles passed, else 1.
set -u
# shellcheck source=tests/vm/harness/tap.sh
. "$RODP_REPO/tests/vm/harness/tap.sh"

prev=$1 pairs=$2 until=$3 chunk=$4
shift 4
tool=$RODP_REPO/build/cmake/perftest/rodp-exit-stress
# The kernel starts the core_pattern helper in PID 1's root, the
# initramfs, where the repository is /repo (tests/vm/harness/init).
helper=/repo/build/cmake/perftest/rodp-core-helper

debugfs_mounted
if ip link show ve2 >/dev/null 2>&1 && ! rxe_reload; then
	echo "stress: reloading rdma_rxe failed" >&2
	exit 1
fi
# The fuse scenario's rodp-stallfs needs the fuse module.
[ -e /dev/fuse ] ||
	modprobe -d "$RODP_REPO/build/deps/$(uname -r)/root" fuse ||
	echo "stress: cannot load fuse (the fuse scenario will fail)" >&2
# The oom scenario's reclaim has swap to push ODP pages to.
zram_swap 64 || echo "stress: no swap for the oom scenario" >&2
# kmemleak (the debug kernel) reports what the cycles leak, not what the
# boot or the set-up above left unreferenced.
kml=/sys/kernel/debug/kmemleak
[ ! -e "$kml" ] || echo clear >"$kml" ||
	echo "stress: kmemleak refused clear" >&2
rc=0
for pair in $pairs; do
	dev=${pair%%:*} peer=${pair#*:}
	out=$RODP_VM_RUN/$dev-$peer
	mkdir -p "$out"
	if [ -d "$prev/$dev-$peer" ]; then
		cp "$prev/$dev-$peer"/cycles.tsv "$prev/$dev-$peer"/kmsg.txt \
			"$out/" 2>/dev/null
	fi
	# A slow kernel (RODP_TIME_SCALE: the debug kernel's 4) gets the
	# survivor's error that much later, and 1 s ACK timeouts (as the
	# perftest suite's -u 18): rxe on 6.1, retrying every 67 ms there,
	# meets its own retry bug (a message sent again one PSN late).
	args=(--slack-ms $((3000 * ${RODP_TIME_SCALE:-1}))
	      --dev "$dev" --peer-dev "$peer" --out "$out" --until "$until"
	      --core-helper "$helper"
	      --teardown-script "$RODP_REPO/perftest/stress-teardown.sh" "$@")
	[ "${RODP_TIME_SCALE:-1}" = 1 ] || args+=(--qp-timeout 18)
	[ "$chunk" = 0 ] || args+=(--cycles "$chunk")
	echo "stress: $dev <-> $peer"
	"$tool" "${args[@]}" || rc=1
done
zram_swap_off
# A kernel with kmemleak (the debug kernel): two scans, as the suites'
# kmemleak check does (an object must look unreferenced in both); the
# report, empty when clean, goes to $RODP_VM_RUN/kmemleak.txt, and any
# report, or a kmemleak that refuses to scan, fails the run.
if [ -e "$kml" ]; then
	if ! { echo scan >"$kml" && sleep 5 && echo scan >"$kml"; }; then
		echo "kmemleak refused to scan (disabled?)" \
			>"$RODP_VM_RUN/kmemleak.txt"
	else
		cat "$kml" >"$RODP_VM_RUN/kmemleak.txt"
	fi
	if [ -s "$RODP_VM_RUN/kmemleak.txt" ]; then
		echo "stress: kmemleak:"
		cat "$RODP_VM_RUN/kmemleak.txt"
		rc=1
	else
		echo "stress: kmemleak: no report"
	fi
fi
exit $rc
