#!/bin/bash
# VM suite "odp": tests/vm/odp_test.c, On-Demand Paging memory regions
# (cmocka, TAP).
#
# Run 1: the ODP caps of rodp0 and rodp1, then every scenario on
# rodp0:rodp1 (across namespaces) on explicit and implicit ODP, and on
# rodp0:rodp0 (one device; implicit ODP only, to keep the suite short),
# with 4 hugetlb pages of 2 MiB reserved for the hugetlb tests.
# Run 2: swap on zram (zram.ko from the unpacked kernel packages) and, on
# rodp0:rodp1, MADV_PAGEOUT of mirrored pages and memory pressure: odp_test
# runs in a cgroup v2 with memory.max 20 MiB and a 40 MiB ODP target.
# When that cannot be set up, these tests report a TAP skip with the
# reason.
#
# odp_test runs in the initial namespace: the RDMA devices are visible
# there and sysfs shows their hw_counters (not under `ip netns exec`).
# The two runs are one TAP stream (plan counted first, the runs' own plan
# lines dropped, cases renumbered: tap_run).  Everything set up here is undone.
# rodp-suite-timeout: 420
set -u
# shellcheck source=tests/vm/harness/tap.sh
. "$RODP_REPO/tests/vm/harness/tap.sh"

ODP_TEST=$RODP_REPO/build/cmake/tests/vm/odp_test
KROOT=$RODP_REPO/build/deps/$(uname -r)/root
PAIRS=(rodp0:rodp1 rodp0:rodp0@implicit)
CG=/sys/fs/cgroup
CG_ODP=$CG/rodp-odp
PRESSURE_MIB=40
PRESSURE_MAX=20M
export CMOCKA_MESSAGE_OUTPUT=TAP

run1=("${PAIRS[@]}")
run2=(--pressure --pressure-mib "$PRESSURE_MIB" --only '*pageout*,*pressure*'
	rodp0:rodp1)

hugepages_old=$(cat /proc/sys/vm/nr_hugepages)
zram_loaded=0
swap_on=0
cg_mounted=0

# pressure_setup: swap on zram0 and the cgroup; the reason when it fails.
pressure_setup()
{
	if [ ! -d /sys/module/zram ]; then
		modprobe -d "$KROOT" zram num_devices=1 ||
			{ echo "modprobe zram failed"; return 1; }
		zram_loaded=1
	fi
	echo 256M >/sys/block/zram0/disksize ||
		{ echo "zram0 disksize"; return 1; }
	mkswap /dev/zram0 >/dev/null || { echo "mkswap /dev/zram0"; return 1; }
	swapon /dev/zram0 || { echo "swapon /dev/zram0"; return 1; }
	swap_on=1
	if [ ! -f $CG/cgroup.controllers ]; then
		mount -t cgroup2 none $CG || { echo "mount cgroup2"; return 1; }
		cg_mounted=1
	fi
	grep -qw memory $CG/cgroup.controllers ||
		{ echo "no memory controller"; return 1; }
	echo +memory >$CG/cgroup.subtree_control ||
		{ echo "cannot enable the memory controller"; return 1; }
	mkdir -p $CG_ODP || { echo "mkdir $CG_ODP"; return 1; }
	echo $PRESSURE_MAX >$CG_ODP/memory.max ||
		{ echo "memory.max"; return 1; }
}

# in_cgroup CMD [ARG...]: CMD in $CG_ODP.  In tap_run's pipeline it runs
# in a subshell, which moves itself into the cgroup, then becomes CMD.
in_cgroup()
{
	echo "$BASHPID" >$CG_ODP/cgroup.procs && exec "$@"
}

pressure_cleanup()
{
	[ ! -d $CG_ODP ] || rmdir $CG_ODP
	[ $cg_mounted -eq 0 ] || umount $CG
	[ $swap_on -eq 0 ] || swapoff /dev/zram0
	if [ $zram_loaded -eq 1 ]; then
		echo 1 >/sys/block/zram0/reset
		rmmod zram
	fi
}

# The fault-stall tests mount perftest/rodp-stallfs, a FUSE filesystem.
if [ ! -d /sys/module/fuse ] && ! modprobe -d "$KROOT" fuse; then
	diag "modprobe fuse failed: the fault-stall tests will fail"
fi

n1=$("$ODP_TEST" --count "${run1[@]}") || n1=0
n2=$("$ODP_TEST" --count "${run2[@]}") || n2=0
plan $((n1 + n2))

echo 4 >/proc/sys/vm/nr_hugepages
diag "hugetlb pages: $(cat /proc/sys/vm/nr_hugepages) of 2 MiB"
tap_run "$n1" "$ODP_TEST" "${run1[@]}"
echo "$hugepages_old" >/proc/sys/vm/nr_hugepages

# Not in $(...): the set-up's state must stay visible to the clean-up.
log=$(mktemp)
if pressure_setup >"$log" 2>&1; then
	diag "pressure: swap on zram0 (256 MiB), $CG_ODP memory.max $PRESSURE_MAX"
	tap_run "$n2" in_cgroup "$ODP_TEST" "${run2[@]}"
	diag "pressure: $(grep -E '^(oom|oom_kill|max) ' $CG_ODP/memory.events | tr '\n' ' ')"
else
	why=$(tr '\n' ' ' <"$log")
	diag "pressure set-up failed: $why"
	tap_run "$n2" env ODP_PRESSURE_SETUP="set-up failed: $why" \
		"$ODP_TEST" "${run2[@]}"
fi
rm -f "$log"
pressure_cleanup
done_testing
