# shellcheck shell=bash
# tests/vm/harness/tap.sh: helpers for the VM suites (sourced).
#
# A suite prints a plan ("1..N") first, then one "ok N - name" or
# "not ok N - name" line per case; "# ..." lines are diagnostics.
# scripts/test.sh counts every planned case: a case that never printed
# its line counts as failed.

TAP_N=0
TAP_FAILED=0

# plan N: announce N cases.
plan()
{
	printf '1..%s\n' "$1"
}

diag()
{
	printf '# %s\n' "$*"
}

# pass NAME / fail NAME: report one case.
pass()
{
	TAP_N=$((TAP_N + 1))
	printf 'ok %d - %s\n' $TAP_N "$1"
}

fail()
{
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	printf 'not ok %d - %s\n' $TAP_N "$1"
}

# skip NAME WHY: a case not run, and why (neither passed nor failed).
skip()
{
	TAP_N=$((TAP_N + 1))
	printf 'ok %d - %s # SKIP %s\n' $TAP_N "$1" "$2"
}

# check NAME CMD [ARG...]: one case, passed when CMD succeeds.  CMD's
# output becomes diagnostics when it fails.
check()
{
	local name=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	if [ $rc -eq 0 ]; then
		pass "$name"
	else
		fail "$name"
		diag "failed ($rc): $*"
		[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/#   /'
	fi
}

# is NAME GOT WANT: one case, passed when GOT equals WANT.
is()
{
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1"
		diag "got '$2', want '$3'"
	fi
}

# wait_for SECONDS CMD [ARG...]: retry CMD every 0.2 s until it succeeds
# or SECONDS pass; the status of its last run.
wait_for()
{
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.2
	done
}

# exited PID: succeeds when process PID is gone.
exited()
{
	! kill -0 "$1" 2>/dev/null
}

# within SECONDS CMD [ARG...]: run CMD for at most SECONDS; its status,
# or 124 when it is still running (then it is left behind: a task stuck
# in the kernel cannot be killed, and the suite must go on).  CMD's output
# is printed when it ends.
within()
{
	local secs=$1 out pid rc
	shift
	out=$(mktemp)
	"$@" >"$out" 2>&1 &
	pid=$!
	if wait_for "$secs" exited $pid; then
		wait $pid
		rc=$?
	else
		rc=124
		echo "still running after ${secs}s: $*" >>"$out"
	fi
	cat "$out"
	rm -f "$out"
	return $rc
}

# done_testing: exit status of the suite (0 only when no case failed).
done_testing()
{
	[ $TAP_FAILED -eq 0 ]
}

# kmsg_mark TEXT: put a marker line into the kernel log; echoes a unique
# tag that kmsg_since can look for.
kmsg_mark()
{
	local tag
	tag="rodp-mark-$$-$RANDOM: $*"
	printf '%s\n' "$tag" >/dev/kmsg
	printf '%s\n' "$tag"
}

# kmsg_since TAG: the kernel log after the marker line TAG.
kmsg_since()
{
	dmesg | awk -v tag="$1" 'found { print } index($0, tag) { found = 1 }'
}

# port_attr DEV ATTR: one attribute of port 1 from `ibv_devinfo -d DEV -v`
# (e.g. state -> PORT_ACTIVE, active_mtu -> 1024, link_layer -> Ethernet).
port_attr()
{
	ibv_devinfo -d "$1" -v 2>/dev/null |
		awk -v a="$2:" '$1 == a { print $2; exit }'
}

# port_is DEV ATTR VALUE: succeeds when the attribute has VALUE.
port_is()
{
	[ "$(port_attr "$1" "$2")" = "$3" ]
}

# rxe_reload: unload rdma_rxe and load it again, with rxe0 on ve2 as the
# topology made it (tests/vm/harness/topology.sh), and wait until its port
# is active with its IPv4 RoCE GID.  rxe's WARN_ON_ONCE()s fire once per
# load of the module: a suite that must make them visible in its own part
# of the kernel log starts with this.  Fails (with a diagnostic) when it
# cannot.
rxe_reload()
{
	local kroot
	kroot=$RODP_REPO/build/deps/$(uname -r)/root
	rdma link del rxe0 2>/dev/null
	if ! rmmod rdma_rxe; then
		diag "rmmod rdma_rxe failed: $(lsmod | grep -w rdma_rxe)"
		return 1
	fi
	if ! modprobe -d "$kroot" rdma_rxe ||
	   ! rdma link add rxe0 type rxe netdev ve2; then
		diag "loading rdma_rxe and adding rxe0 on ve2 failed"
		return 1
	fi
	if ! wait_for 20 port_is rxe0 state PORT_ACTIVE ||
	   ! wait_for 20 grep -qs '^0000:0000:0000:0000:0000:ffff:' \
		/sys/class/infiniband/rxe0/ports/1/gids/*; then
		diag "rxe0 did not come up: port $(port_attr rxe0 state)"
		return 1
	fi
}

# debugfs_mounted: /sys/kernel/debug is mounted (mounted here if not).
debugfs_mounted()
{
	mountpoint -q /sys/kernel/debug ||
		mount -t debugfs none /sys/kernel/debug
}

# renumber OFFSET: a filter for a sub-run's TAP: drop its plan line, add
# OFFSET to its case numbers.
renumber()
{
	awk -v off="$1" '
		/^1\.\.[0-9]+$/ { next }
		/^(not )?ok [0-9]+/ {
			n = ($1 == "not") ? 3 : 2
			$n = $n + off
		}
		{ print; fflush() }'
}

# tap_run N CMD [ARG...]: CMD prints TAP with N cases (a test program
# run several times in one suite, its N counted beforehand): they become
# the suite's next N cases; CMD's failure (status not 0) fails the suite.
tap_run()
{
	local n=$1
	shift
	"$@" | renumber "$TAP_N"
	[ "${PIPESTATUS[0]}" -eq 0 ] || TAP_FAILED=$((TAP_FAILED + 1))
	TAP_N=$((TAP_N + n))
}

# zram_swap MIB: swap on a zram device of MIB MiB (zram.ko from the
# unpacked kernel packages), unless some swap is on already; fails with
# a diagnostic.  zram_swap_off undoes what it did.
ZRAM_SWAP=
zram_swap()
{
	local kroot dev

	kroot=$RODP_REPO/build/deps/$(uname -r)/root
	[ "$(awk 'NR > 1' /proc/swaps | wc -l)" -eq 0 ] || return 0
	if [ ! -d /sys/module/zram ] &&
	   ! modprobe -d "$kroot" zram num_devices=1; then
		diag "modprobe zram failed"
		return 1
	fi
	dev=/dev/zram0
	if ! echo "$1M" >/sys/block/zram0/disksize ||
	   ! mkswap "$dev" >/dev/null || ! swapon "$dev"; then
		diag "swap on $dev failed"
		return 1
	fi
	ZRAM_SWAP=$dev
}

zram_swap_off()
{
	[ -n "$ZRAM_SWAP" ] || return 0
	swapoff "$ZRAM_SWAP" && echo 1 >/sys/block/zram0/reset
	ZRAM_SWAP=
}
