#!/bin/bash
# scripts/test.sh: build, then run every test and count them.
#
#  1. the build (a failed build is one failed test, and nothing runs);
#  2. ctest in build/cmake: unit tests, kernel-log checker tests, fuzz;
#  3. the VM suites tests/vm/suites/*.sh, all in one guest, in file name
#     order (tests/vm/harness/run-suites.sh).  Each suite prints a TAP plan
#     and one line per case; a planned case that never reported, a suite
#     that could not run, and a suite whose part of the kernel log shows a
#     problem all count as failed.  Each suite's kernel log is one more
#     case ("kernel log clean"), and so is the rest of the guest's log.
#
# A TAP case marked "# SKIP" (cmocka prints "not ok N # SKIP") is neither
# passed nor failed: it is counted as skipped and listed in the summary.
#
# Ends with "rodp: N passed, N failed, N skipped"; exit status 0 only if
# N failed = 0.
set -u
. "$(dirname "$0")/lib.sh"

passed=0
failed=0
skipped=0
summary=()
incomplete=0

count()
{
	passed=$((passed + $1))
	failed=$((failed + $2))
}

finish()
{
	local line
	echo
	echo "=== summary"
	for line in "${summary[@]}"; do
		printf '%s\n' "$line"
	done
	echo "rodp: $passed passed, $failed failed, $skipped skipped"
	if [ "$incomplete" -gt 0 ]; then
		echo "rodp: incomplete: $incomplete parts not run or not" \
			"finished (./rodp test --full again goes on)"
		[ "$failed" -gt 0 ] || exit 3
	fi
	exit $((failed == 0 ? 0 : 1))
}

run_build()
{
	echo "=== build"
	if ! "$RODP_ROOT/scripts/build.sh"; then
		count 0 1
		summary+=("FAIL build (nothing else ran)")
		finish
	fi
}

run_ctest()
{
	local log=$RODP_BUILD/ctest.log rc line total=0 bad=0

	echo "=== ctest"
	ctest --test-dir "$RODP_CMAKE" --output-on-failure --timeout 600 \
		-j2 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	line=$(grep -E \
		'[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' \
		"$log" | tail -n 1)
	if [ -n "$line" ]; then
		total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
		bad=$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"$line")
	elif ! grep -q 'No tests were found' "$log"; then
		bad=1
	fi
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		bad=1
		total=$((total + 1))
		summary+=("FAIL ctest exited $rc")
	fi
	count $((total - bad)) "$bad"
	if [ "$bad" -eq 0 ]; then
		summary+=("PASS ctest: $total tests")
	else
		summary+=("FAIL ctest: $bad of $total tests failed ($log)")
	fi
}

# split_log LOG DIR: the kernel log cut at the suites' markers into
# DIR/NAME.dmesg per suite and DIR/outside.dmesg (boot, between, after).
split_log()
{
	awk -v dir="$2" '
		/rodp-suite: [^ ]+ begin/ {
			for (i = 1; i < NF; i++)
				if ($i == "rodp-suite:")
					cur = $(i + 1)
		}
		{ print > (dir "/" (cur == "" ? "outside" : cur) ".dmesg") }
		/rodp-suite: [^ ]+ end/ { cur = "" }
	' "$1"
}

# logcheck_ok LOG: succeeds when the kernel log LOG is clean; otherwise
# shows the problems and sets log_failed.
log_failed=0
logcheck_ok()
{
	if python3 "$RODP_ROOT/tests/vm/logcheck/logcheck.py" "$1" \
		>"$1.check" 2>&1; then
		return 0
	fi
	sed 's/^/    /' "$1.check"
	log_failed=1
	return 1
}

# suite_result NAME DIR [LABEL]: count one suite's cases.
suite_result()
{
	local name=$1 dir=$2 out=$2/suites/$1.out status plan ok bad missing
	local skip=0 notes=() verdict line

	status=$(cat "$dir/suites/$name.status" 2>/dev/null || echo none)
	plan=0 ok=0 bad=0
	if [ -f "$out" ]; then
		plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$out" |
			head -n 1)
		plan=${plan:-0}
		skip=$(grep -cE '^(not )?ok [0-9]+.*# *SKIP' "$out")
		ok=$(grep -E '^ok [0-9]+' "$out" | grep -cvE '# *SKIP')
		bad=$(grep -E '^not ok [0-9]+' "$out" | grep -cvE '# *SKIP')
	fi
	skipped=$((skipped + skip))
	[ $skip -eq 0 ] || notes+=("$skip skipped")
	missing=$((plan - ok - bad - skip))
	[ $missing -ge 0 ] || missing=0
	if [ $((ok + bad + missing)) -eq 0 ]; then
		missing=1
		notes+=("no results")
	elif [ $missing -gt 0 ]; then
		notes+=("$missing planned cases never reported")
	fi
	if [ "$status" != 0 ] && [ $bad -eq 0 ] && [ $missing -eq 0 ]; then
		bad=1
		notes+=("exit status $status")
	elif [ "$status" = 124 ]; then
		notes+=("timed out")
	elif [ "$status" = none ]; then
		notes+=("did not finish")
	fi
	if [ -f "$dir/dmesg-split/$name.dmesg" ]; then
		if logcheck_ok "$dir/dmesg-split/$name.dmesg"; then
			ok=$((ok + 1))
		else
			bad=$((bad + 1))
			notes+=("kernel log shows problems")
		fi
	fi
	bad=$((bad + missing))
	count $ok $bad
	if [ $bad -eq 0 ]; then
		verdict="PASS ${3:-}$name: $ok cases"
	else
		verdict="FAIL ${3:-}$name: $bad of $((ok + bad)) cases failed"
	fi
	if [ ${#notes[@]} -gt 0 ]; then
		verdict+=" ($(printf '%s; ' "${notes[@]}" | sed 's/; $//'))"
	fi
	summary+=("$verdict")
	if [ -f "$out" ]; then
		while read -r line; do
			summary+=("    $line")
		done < <(grep -E '^((not )?ok [0-9]+.*# *SKIP|not ok [0-9]+)' "$out")
	fi
}

# run_vm_suites KERNEL DISTRO [SUITE...]: the suites (default: all) in one
# guest booted on KERNEL ("" for the default test kernel) with DISTRO's
# root ("" for the host's).
run_vm_suites()
{
	local kernel=$1 distro=$2 suites=() dir rc name log per total own
	local s kopt=() label='' tag='' scale

	shift 2
	if [ $# -gt 0 ]; then
		for s in "$@"; do
			suites+=("$RODP_ROOT/tests/vm/suites/$s.sh")
		done
	else
		for s in "$RODP_ROOT"/tests/vm/suites/*.sh; do
			[ -f "$s" ] && suites+=("$s")
		done
	fi
	[ ${#suites[@]} -gt 0 ] || return 0
	if [ -n "$kernel" ]; then
		kopt=(--kernel "$kernel")
		tag=$kernel
	fi
	if [ -n "$distro" ]; then
		kopt+=(--distro "$distro")
		tag=${kernel:-$(rodp_kver)}+$distro
	fi
	# RODP_PACKET_PATH=1 (the guest loads rodp with packet_path=1): no
	# host-local delivery between namespaces, every packet through veths.
	[ "${RODP_PACKET_PATH:-0}" = 0 ] ||
		tag=${tag:-$(rodp_kver)}+packets
	[ -z "$tag" ] || label="$tag/"
	per=${RODP_SUITE_TIMEOUT:-240}
	export RODP_SUITE_TIMEOUT=$per
	# The debug kernel is slow (KASAN, lockdep): every bound times 4
	# (run-suites.sh scales the suites' own).
	scale=1
	[ "$kernel" != debug ] || scale=4
	export RODP_TIME_SCALE=$scale
	# Each suite's bound: its own "# rodp-suite-timeout: S" or $per.
	total=120
	for s in "${suites[@]}"; do
		own=$(sed -n 's/^# rodp-suite-timeout: *\([0-9][0-9]*\)$/\1/p' \
			"$s" | head -n 1)
		total=$((total + ${own:-$per} * scale + 15))
	done

	echo "=== VM suites${kernel:+ on kernel $kernel}${distro:+ in the $distro root}: ${suites[*]##*/}"
	mkdir -p "$RODP_VMDIR/runs"
	dir=$RODP_VMDIR/runs/$(date +%Y%m%d-%H%M%S)-$$-test${tag:+-$tag}
	"$RODP_ROOT/scripts/vm.sh" "${kopt[@]}" --run-dir "$dir" \
		--timeout "$total" \
		-- "$RODP_ROOT/tests/vm/harness/run-suites.sh" "${suites[@]}"
	rc=$?

	log=$dir/dmesg.txt
	[ -f "$log" ] || log=$dir/console.log
	mkdir -p "$dir/dmesg-split"
	[ ! -f "$log" ] || split_log "$log" "$dir/dmesg-split"

	case $rc in
	0|121) ;;
	*) summary+=("VM run${tag:+ on $tag} failed: $(cat \
		"$dir/verdict" 2>/dev/null || echo "exit $rc")") ;;
	esac
	for s in "${suites[@]}"; do
		name=$(basename "$s" .sh)
		suite_result "${name#[0-9][0-9]-}" "$dir" "$label"
	done
	# The debug kernel's kmemleak scan (run-suites.sh), missing or not.
	if [ "$kernel" = debug ] || [ -f "$dir/suites/kmemleak.status" ]; then
		suite_result kmemleak "$dir" "$label"
	fi
	if [ -f "$dir/dmesg-split/outside.dmesg" ]; then
		if logcheck_ok "$dir/dmesg-split/outside.dmesg"; then
			count 1 0
			summary+=("PASS ${label}guest kernel log outside the suites")
		else
			count 0 1
			summary+=("FAIL ${label}guest kernel log outside the suites")
		fi
	fi
	# vm.sh also checks the console log, which goes on after dmesg.txt.
	if [ $rc -eq 121 ] && [ $log_failed -eq 0 ]; then
		count 0 1
		summary+=("FAIL ${label}guest kernel log ($dir/logcheck.txt)")
	fi
	summary+=("VM run: $dir")
}

# run_pkg_test DISTRO: the Debian packages installed, used and purged in
# a fresh DISTRO root on that release's kernel (scripts/pkgtest.sh),
# counted as one suite, "pkg-DISTRO".
run_pkg_test()
{
	local dir

	echo "=== package test: Debian $1"
	mkdir -p "$RODP_VMDIR/runs"
	dir=$RODP_VMDIR/runs/$(date +%Y%m%d-%H%M%S)-$$-pkg-$1
	"$RODP_ROOT/scripts/pkgtest.sh" "$1" --run-dir "$dir"
	suite_result "pkg-$1" "$dir"
	summary+=("VM run: $dir")
}

# run_wire_suite MODE: the two-guest suite (tests/wire/suite.sh, MODE
# slice or full) in a ./rodp vm2 pair, guest A on the default kernel with
# rodp, guest B on the newest with rodp and then rxe.  Guest A's TAP is
# counted like a suite's (its kernel log one more case); guest B's run
# (its agent's status and its kernel log, scripts/vm.sh's verdict) is one
# more case.
run_wire_suite()
{
	local mode=$1 dir b bound=600

	[ "$mode" = slice ] || bound=3600
	echo "=== two-guest suite ($mode): tests/wire/suite.sh"
	mkdir -p "$RODP_VMDIR/wire"
	dir=$RODP_VMDIR/wire/$(date +%Y%m%d-%H%M%S)-$$-test
	RODP_WIRE_SUITE=$mode "$RODP_ROOT/scripts/vm2.sh" --run-dir "$dir" \
		--timeout $bound -- "$RODP_ROOT/tests/wire/suite.sh" -- \
		"$RODP_ROOT/tests/wire/agent.sh"
	mkdir -p "$dir/suites" "$dir/dmesg-split"
	cp "$dir/a/stdout" "$dir/suites/wire.out" 2>/dev/null
	cp "$dir/a/status" "$dir/suites/wire.status" 2>/dev/null
	[ ! -f "$dir/a/dmesg.txt" ] ||
		cp "$dir/a/dmesg.txt" "$dir/dmesg-split/wire.dmesg"
	suite_result wire "$dir" "wire A/"
	b=$(sed -n 's/^b=//p' "$dir/result" 2>/dev/null)
	if [ "$b" = 0 ]; then
		count 1 0
		summary+=("PASS wire B/guest B's run and kernel log")
	else
		count 0 1
		summary+=("FAIL wire B/guest B: $(cat "$dir/b/verdict" \
			2>/dev/null || echo "no verdict")")
	fi
	summary+=("VM pair: $dir")
}

# --full takes hours (the debug kernel and the long stress campaigns
# alone take more than a sitting), so it runs in parts, each recorded
# when it ends in build/full/KEY/ (NAME.done, .counts, .summary), KEY
# naming the code (every file but the *.md): run again on the same code
# with a clean tree, it replays what ended and runs only the rest.
# --stop-after MIN starts no part after MIN minutes; a part that did
# not end (stopped, or the machine went away) runs again
# from its start, except the stress campaigns, which go on counting
# cycles (scripts/stress.sh --id).  --fresh forgets the recorded parts.
# --only PART,... runs no other part (the short ones fit a sitting the
# debug kernel's whole run would not; the names: build/full/KEY/*.done).
FULL_DIR=
FULL_KEY=
stop_at=
only=
part_incomplete=0

past_stop()
{
	[ -n "$stop_at" ] && [ $SECONDS -ge "$stop_at" ]
}

# part NAME CMD [ARG...]: one part of --full (see above); without --full,
# CMD.
part()
{
	local name=$1 n0=${#summary[@]} p0=$passed f0=$failed s0=$skipped
	local t0=$SECONDS line dp df ds
	shift
	if [ -z "$FULL_DIR" ]; then
		"$@"
		return
	fi
	if [ -f "$FULL_DIR/$name.done" ]; then
		echo "=== part $name: recorded ($(cat "$FULL_DIR/$name.done"))"
		while IFS= read -r line; do
			summary+=("$line")
		done <"$FULL_DIR/$name.summary"
		read -r dp df ds <"$FULL_DIR/$name.counts"
		passed=$((passed + dp)) failed=$((failed + df))
		skipped=$((skipped + ds))
		summary+=("    (part $name: recorded $(cat "$FULL_DIR/$name.done"))")
		return
	fi
	if past_stop; then
		summary+=("NOT RUN part $name (--stop-after)")
		incomplete=$((incomplete + 1))
		return
	fi
	if [ -n "$only" ] && [[ ",$only," != *",$name,"* ]]; then
		summary+=("NOT RUN part $name (--only)")
		incomplete=$((incomplete + 1))
		return
	fi
	echo "=== part $name"
	part_incomplete=0
	"$@"
	if [ $part_incomplete -ne 0 ]; then
		incomplete=$((incomplete + 1))
		summary+=("    (part $name: not finished, goes on next time)")
		return
	fi
	printf '%s\n' "${summary[@]:n0}" >"$FULL_DIR/$name.summary"
	echo "$((passed - p0)) $((failed - f0)) $((skipped - s0))" \
		>"$FULL_DIR/$name.counts"
	echo "$(date -u '+%F %T UTC'), $((SECONDS - t0)) s, at $(git -C \
		"$RODP_ROOT" rev-parse --short HEAD 2>/dev/null)" \
		>"$FULL_DIR/$name.done"
}

# with_packets CMD [ARG...]: CMD with RODP_PACKET_PATH=1 for its guests.
with_packets()
{
	local RODP_PACKET_PATH=1
	export RODP_PACKET_PATH
	"$@"
}

# stress_cycles DIR: the cycles recorded under a ./rodp stress --id DIR.
stress_cycles()
{
	local f n=0

	for f in "$1"/*/cycles.tsv; do
		[ -f "$f" ] || continue
		n=$((n + $(wc -l <"$f") - 1))
	done
	echo $n
}

# run_stress KERNEL CYCLES: a ./rodp stress campaign of CYCLES cycles
# (KERNEL "" for the default), 50 cycles per pair at a time, kept in
# build/stress/full-COMMIT[-KERNEL] so that it can span sittings; one
# case, failed when a cycle failed.
run_stress()
{
	local kernel=$1 want=$2 id dir have before rc=0 bad
	local kopt=()

	id=full-$FULL_KEY${kernel:+-$kernel}
	dir=$RODP_BUILD/stress/$id
	[ -z "$kernel" ] || kopt=(--kernel "$kernel")
	echo "=== stress: $want cycles${kernel:+ on $kernel} ($dir)"
	while have=$(stress_cycles "$dir") && [ "$have" -lt "$want" ]; do
		if past_stop; then
			part_incomplete=1
			summary+=("    stress${kernel:+ $kernel}: $have of $want cycles so far ($dir)")
			return
		fi
		before=$have
		"$RODP_ROOT/scripts/stress.sh" "${kopt[@]}" --cycles "$want" \
			--id "$id" --chunk 50 || rc=1
		if [ "$(stress_cycles "$dir")" -le "$before" ]; then
			count 0 1
			summary+=("FAIL stress${kernel:+ $kernel}: no progress at $before of $want cycles ($dir)")
			return
		fi
	done
	bad=$(cat "$dir"/*/cycles.tsv 2>/dev/null | grep -c $'\tFAIL\t')
	# A kmemleak report of any run of the campaign, this sitting's or
	# an earlier one's (scripts/stress.sh keeps them).
	for f in "$dir"/kmemleak-*.txt; do
		[ ! -s "$f" ] || rc=1
	done
	if [ "$bad" -eq 0 ] && [ $rc -eq 0 ]; then
		count 1 0
		summary+=("PASS stress${kernel:+ $kernel}: $have cycles ($dir)")
	else
		count 0 1
		summary+=("FAIL stress${kernel:+ $kernel}: $bad of $have cycles failed$(
			[ "$bad" != 0 ] || echo ", or a run failed (kmemleak-*.txt, run-*/)") ($dir)")
	fi
}

# What ./rodp test runs besides the whole suite on the default kernel and
# the host's user space: each other kernel with its own Debian release's
# user space (6.12 with Debian 13's rdma-core, the newest with unstable's),
# a short slice.  --full runs the debug kernel's whole run and its stress
# campaign (STRESS_DEBUG cycles) first, then every suite on every kernel
# (host user space), on the default kernel in both delivery modes, every
# suite in Debian 13's root on 6.12 and in unstable's on the newest (the
# user-space slice in Debian 12's root, the host's own release), the
# package tests, the whole wire suite, and the long stress campaign
# (STRESS_FULL cycles on the default kernel); --kernel K every suite on
# K alone.
SLICE=(10-basic 30-provider 40-mr 50-rc 52-odp 65-kverbs 90-teardown)
USLICE=(10-basic 30-provider 40-mr 50-rc 52-odp 60-perftest 90-teardown)
OTHER=(6.12:trixie newest:sid)
DISTROS=(6.1:bookworm 6.12:trixie newest:sid)
# The package test: Debian 12 on 6.1; --full adds Debian 13 on 6.12.
PKG=(bookworm)
PKG_FULL=(bookworm trixie)
STRESS_FULL=1000
STRESS_DEBUG=300

kernel=
distro=
full=0
fresh=0
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=${2:?--kernel wants 6.1, 6.12, newest, debug or a version}
		  shift 2 ;;
	--distro) distro=${2:?--distro wants bookworm, trixie or sid}
		  shift 2 ;;
	--full) full=1; shift ;;
	--packet-path) export RODP_PACKET_PATH=1; shift ;;
	--stop-after) stop_at=$((SECONDS + 60 * ${2:?--stop-after wants minutes}))
		      shift 2 ;;
	--fresh) fresh=1; shift ;;
	--only) only=${2:?--only wants PART[,PART...]}; shift 2 ;;
	*) die "test: unknown option $1 (--kernel K, --distro D, --full, --packet-path, --stop-after MIN, --only PARTS, --fresh)" ;;
	esac
done

if [ $full -eq 1 ]; then
	# The key names the code, not the commit: a commit that changes
	# only documentation (the README's results table) keeps the parts.
	FULL_KEY=$(git -C "$RODP_ROOT" ls-tree -r HEAD 2>/dev/null |
		grep -v $'\t.*\.md$' | sha1sum | cut -c1-12)
	git -C "$RODP_ROOT" rev-parse -q --verify HEAD >/dev/null ||
		FULL_KEY=nogit
	# A tree with changes is not that code: nothing to resume.
	[ -z "$(git -C "$RODP_ROOT" status --porcelain -- . ':!*.md' \
		2>/dev/null)" ] || FULL_KEY+=-dirty-$(date +%Y%m%d-%H%M%S)
	FULL_DIR=$RODP_BUILD/full/$FULL_KEY
	[ $fresh -eq 0 ] || rm -rf "$FULL_DIR"
	mkdir -p "$FULL_DIR"
	echo "=== --full: parts recorded in $FULL_DIR"
fi
run_build
run_ctest
if [ -n "$kernel" ] || [ -n "$distro" ]; then
	run_vm_suites "$kernel" "$distro"
	finish
fi
# The other releases' roots (debootstrap: mostly download and dpkg) are
# made while the first guest runs, at the lowest priority; vm.sh makes
# them itself if this failed, and says why.
roots=()
for kd in "${OTHER[@]}" "${DISTROS[@]}"; do
	[ $full -eq 1 ] || [[ " ${OTHER[*]} " == *" $kd "* ]] || continue
	[[ " ${roots[*]} " == *" ${kd#*:} "* ]] || roots+=("${kd#*:}")
done
(
	for d in "${roots[@]}"; do
		nice -n 19 "$RODP_ROOT/scripts/distro.sh" "$d" >/dev/null ||
			msg "test: preparing the $d root failed (see above)"
	done
) >"$RODP_BUILD/roots.log" 2>&1 &
roots_pid=$!
# The package tests' packages and roots (scripts/pkgroot.sh), after the
# distribution roots (which the next guests want first).
if [ $full -eq 1 ]; then pkgs=("${PKG_FULL[@]}"); else pkgs=("${PKG[@]}"); fi
(
	while kill -0 $roots_pid 2>/dev/null; do sleep 5; done
	for d in "${pkgs[@]}"; do
		nice -n 19 "$RODP_ROOT/scripts/pkgtest.sh" "$d" --prepare ||
			msg "test: preparing the $d package test failed"
	done
) >"$RODP_BUILD/pkgroots.log" 2>&1 &
pkgroots_pid=$!
# The debug kernel first: its whole run is the longest part and the one
# most likely to find something (a finding means new code, a new KEY).
if [ $full -eq 1 ]; then
	part vm-debug run_vm_suites debug ""
	part stress-debug run_stress debug "$STRESS_DEBUG"
fi
# Within the budget of ./rodp test: over IPv6 one bandwidth tool of
# three (perftest suite); --full runs them all.
[ $full -eq 1 ] || export RODP_PERFTEST_IPV6_TOOLS=ib_write_bw
part vm-default run_vm_suites "" ""
unset RODP_PERFTEST_IPV6_TOOLS
wait $roots_pid
if [ $full -eq 1 ]; then
	# Both delivery modes: every suite again with the packet path.
	[ "${RODP_PACKET_PATH:-0}" != 0 ] ||
		part vm-default-packets with_packets run_vm_suites "" ""
	for kd in "${OTHER[@]}"; do
		part "vm-${kd%%:*}" run_vm_suites "${kd%%:*}" ""
	done
	# Every suite in Debian 13's and unstable's roots; Debian 12's
	# user space is the host's (every suite above), its fresh root gets
	# the slice.
	for kd in "${DISTROS[@]}"; do
		if [ "${kd#*:}" = bookworm ]; then
			part "usr-${kd#*:}" run_vm_suites "${kd%%:*}" \
				"${kd#*:}" "${USLICE[@]}"
		else
			part "usr-${kd#*:}" run_vm_suites "${kd%%:*}" \
				"${kd#*:}"
		fi
	done
	wait $pkgroots_pid
	for d in "${PKG_FULL[@]}"; do
		part "pkg-$d" run_pkg_test "$d"
	done
else
	# The 6.12 slice takes the packet path (RODP_PACKET_PATH=1): rc and
	# odp run in both delivery modes within the budget.
	for kd in "${OTHER[@]}"; do
		if [ "${kd%%:*}" = 6.12 ]; then
			RODP_PACKET_PATH=1 run_vm_suites "${kd%%:*}" \
				"${kd#*:}" "${SLICE[@]}"
		else
			run_vm_suites "${kd%%:*}" "${kd#*:}" "${SLICE[@]}"
		fi
	done
	wait $pkgroots_pid
	for d in "${PKG[@]}"; do
		run_pkg_test "$d"
	done
fi
if [ $full -eq 1 ]; then
	part wire run_wire_suite full
	part stress run_stress "" "$STRESS_FULL"
else
	run_wire_suite slice
fi
finish
