#!/bin/bash
# tests/vm/demo.sh: what `./rodp demo` shows, run inside the test guest
# (default topology: rodp0 in ns0 on ve0, rodp1 in ns1 on ve1, rxe0 on
# ve2; see tests/vm/harness/topology.sh).
#
# One `section TITLE CMD...` per step: to show more, add a section.
# Exit status: 0 only when every section's command succeeded.
set -u

failed=0

section()
{
	local title=$1 rc=0
	shift
	printf '\n===== %s\n$ %s\n' "$title" "$*"
	"$@" 2>&1 || rc=$?
	if [ $rc -ne 0 ]; then
		printf '!!!!! failed with status %d\n' $rc
		failed=$((failed + 1))
	fi
}

section "RDMA links (all namespaces share the device list)" rdma link
section "Verbs devices" ibv_devices
section "rodp0, in full" ibv_devinfo -d rodp0 -v
section "rxe0, the in-tree soft-RoCE, for comparison" ibv_devinfo -d rxe0
section "RDMA devices" rdma dev

# shellcheck source=perftest/lib.sh
. "$RODP_REPO/perftest/lib.sh"

# bw TOOL SRV_NS SRV_DEV CLI_NS CLI_DEV SRV_IP [ARG...]: a short perftest
# run; ARGs go to both sides ("-": the initial namespace, as for pt_in).
bw()
{
	local tool=$1 sns=$2 sdev=$3 cns=$4 cdev=$5 ip=$6 pid rc=0
	shift 6
	pt_in "$sns" timeout 120 "$tool" -d "$sdev" -x "$(pt_gid "$sdev")" \
		-s 65536 -n 500 -p 18515 "$@" >/dev/null 2>&1 &
	pid=$!
	sleep 2
	pt_in "$cns" timeout 120 "$tool" -d "$cdev" -x "$(pt_gid "$cdev")" \
		-s 65536 -n 500 -p 18515 "$@" "$ip" || rc=$?
	wait $pid || rc=$?
	return $rc
}

section "ib_write_bw, 64 KiB: rodp0 (ns0) -> rodp1 (ns1)" \
	bw ib_write_bw ns1 rodp1 ns0 rodp0 10.77.0.11
section "ib_write_bw, 64 KiB: rodp0 (ns0) -> rxe0 (initial namespace)" \
	bw ib_write_bw - rxe0 ns0 rodp0 10.77.0.2
section "rodp0's counters" rdma statistic show link rodp0/1

# odp DEV: DEV's ODP counters, one per line.
odp()
{
	grep . /sys/class/infiniband/"$1"/ports/1/hw_counters/odp_* |
		sed 's|.*/||'
}

section "rodp1's ODP counters before" odp rodp1
section "ib_write_bw --odp, 1 MiB: rodp0 -> rodp1, both MRs on demand" \
	bw ib_write_bw ns1 rodp1 ns0 rodp0 10.77.0.11 --odp -s 1048576 -n 50
section "rodp1's ODP counters after: its MR was faulted in, unpinned" \
	odp rodp1

echo
if [ $failed -ne 0 ]; then
	echo "demo: $failed sections failed"
	exit 1
fi
echo "demo: all sections ran"
