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

echo
if [ $failed -ne 0 ]; then
	echo "demo: $failed sections failed"
	exit 1
fi
echo "demo: all sections ran"
