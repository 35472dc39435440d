#!/bin/bash
# tests/vm/harness/run-suites.sh SUITE...: run VM suites one after the
# other inside one guest (started by scripts/test.sh through vm.sh).
#
# For each suite NAME (file name without its NN- order prefix and .sh)
# it leaves in $RODP_VM_RUN/suites/: NAME.out (the suite's TAP output and
# diagnostics) and NAME.status (its exit status, 124 on timeout), and it
# writes "rodp-suite: NAME begin" / "... end" into the kernel log so the
# host can check each suite's part of the log on its own.
# RODP_SUITE_TIMEOUT (s, default 240) bounds each suite; a suite that
# needs longer says so in a line "# rodp-suite-timeout: S" of its own, and
# gets S seconds (seen by the suite as RODP_SUITE_TIMEOUT).  On a slow
# kernel (the debug kernel: KASAN and lockdep under TCG) RODP_TIME_SCALE
# (an integer, default 1) multiplies every bound.
set -u

out=$RODP_VM_RUN/suites
mkdir -p "$out"
scale=${RODP_TIME_SCALE:-1}
limit=${RODP_SUITE_TIMEOUT:-240}

for suite in "$@"; do
	name=$(basename "$suite" .sh)
	name=${name#[0-9][0-9]-}
	own=$(sed -n 's/^# rodp-suite-timeout: *\([0-9][0-9]*\)$/\1/p' \
		"$suite" | head -n 1)
	export RODP_SUITE_TIMEOUT=$(( ${own:-$limit} * scale ))
	echo "=== suite $name"
	t0=$SECONDS
	echo "rodp-suite: $name begin" >/dev/kmsg
	# Into a file, not a pipe: a process the suite leaves stuck in the
	# kernel must not keep the runner waiting for end of file.  A file
	# of the guest's own tmpfs, copied to the results folder at the
	# end: on the 9p share, with the suite's processes writing and tail
	# reading at once, 6.12's 9p once wrote a line over the one before
	# it (tail had printed the lost line; the copy on the share no longer
	# held it, and the suite lost a case it had passed).
	local_out=$(mktemp "/tmp/suite-$name.XXXXXX")
	timeout -k 10 "$RODP_SUITE_TIMEOUT" bash "$suite" </dev/null >"$local_out" 2>&1 &
	spid=$!
	tail -n +1 -s 0.5 -f --pid=$spid "$local_out" &
	tpid=$!
	wait $spid
	status=$?
	wait $tpid
	cp "$local_out" "$out/$name.out"
	rm -f "$local_out"
	echo "$status" >"$out/$name.status"
	echo $((SECONDS - t0)) >"$out/$name.secs"
	echo "rodp-suite: $name end $status" >/dev/kmsg
	echo "=== suite $name: exit $status ($((SECONDS - t0)) s)"
done

# A kernel with kmemleak (the debug kernel, scripts/debugkernel.sh): one
# more suite, "kmemleak", at the end: two scans (an object must look
# unreferenced in both to be reported), and any report fails it.
kml=/sys/kernel/debug/kmemleak
if [ -e "$kml" ]; then
	echo "=== suite kmemleak"
	echo "rodp-suite: kmemleak begin" >/dev/kmsg
	{
		echo "1..1"
		# A debugfs file's size is 0 whatever it holds: read it.
		# kmemleak that turned itself off (after an error) refuses
		# the scan: that is a failure, not a clean report.
		if ! { echo scan >"$kml" && sleep 5 &&
		       echo scan >"$kml"; }; then
			echo "not ok 1 - kmemleak reports no leak"
			echo "# kmemleak refused to scan (disabled?)"
		elif leaks=$(cat "$kml") && [ -n "$leaks" ]; then
			echo "not ok 1 - kmemleak reports no leak"
			sed 's/^/# /' <<<"$leaks"
		else
			echo "ok 1 - kmemleak reports no leak"
		fi
	} >"$out/kmemleak.out" 2>&1
	status=0
	grep -q '^not ok' "$out/kmemleak.out" && status=1
	echo "$status" >"$out/kmemleak.status"
	echo "rodp-suite: kmemleak end $status" >/dev/kmsg
	cat "$out/kmemleak.out"
	echo "=== suite kmemleak: exit $status"
fi
