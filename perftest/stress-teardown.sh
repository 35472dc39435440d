#!/bin/bash
# perftest/stress-teardown.sh down|up VARIANT DEV: the teardown scenario
# of rodp-exit-stress in the test guest's default topology
# (tests/vm/harness/topology.sh), for DEV rodp0 (ns0, ve0) or rodp1 (ns1,
# ve1).
#   down linkdel  rdma link del DEV
#   down netns    ip netns del of DEV's namespace: its veth goes, and
#                 with it the device
#   down rmmod    rmmod rodp: every rodp device goes
#   up VARIANT    puts back what down took (the namespace, its veth on
#                 br0 and address; rodp.ko with the harness's parameters;
#                 the devices) and waits until each device's port is
#                 ACTIVE with its IPv4 RoCE GID
# Exit status 0 when it did it; else 1, with the reason on stderr.
set -u
# shellcheck source=tests/vm/harness/tap.sh
. "${RODP_REPO:?not in a rodp test guest}/tests/vm/harness/tap.sh"

what=${1:?down or up} variant=${2:?linkdel, netns or rmmod} dev=${3:?DEV}
case $dev in
rodp0)	ns=ns0 ve=ve0 addr=10.77.0.10 ;;
rodp1)	ns=ns1 ve=ve1 addr=10.77.0.11 ;;
*)	echo "stress-teardown: $dev is not in the default topology" >&2
	exit 1 ;;
esac

die()
{
	echo "stress-teardown: $what $variant $dev: $*" >&2
	exit 1
}

active()
{
	grep -q ACTIVE "/sys/class/infiniband/$1/ports/1/state" &&
		grep -qs '^0000:0000:0000:0000:0000:ffff:' \
			/sys/class/infiniband/"$1"/ports/1/gids/*
}

gone() { [ ! -e "/sys/class/infiniband/$1" ]; }
gone_link() { ! ip link show "$1"; }

# link_add DEV NS VE: the device on its veth, from inside its namespace.
link_add()
{
	gone "$1" || return 0
	ip netns exec "$2" rdma link add "$1" type rodp netdev "$3" ||
		die "rdma link add $1"
	wait_for 20 active "$1" || die "$1 did not come up"
}

case $what:$variant in
down:linkdel)
	rdma link del "$dev" || die "rdma link del"
	;;
down:netns)
	ip netns del "$ns" || die "ip netns del $ns"
	;;
down:rmmod)
	rmmod rodp || die "rmmod rodp"
	;;
up:linkdel)
	link_add "$dev" "$ns" "$ve"
	;;
up:netns)
	# The namespace dies in the background: its veth (and ${ve}p at
	# the bridge) and the device go with it.
	wait_for 30 gone "$dev" || die "$dev outlived its namespace"
	wait_for 30 gone_link "${ve}p" ||
		die "${ve}p outlived the namespace"
	ip link add "$ve" type veth peer name "${ve}p" &&
	ip link set "${ve}p" master br0 &&
	ip link set "${ve}p" up &&
	ip netns add "$ns" &&
	ip -n "$ns" link set lo up &&
	ip link set "$ve" netns "$ns" &&
	ip -n "$ns" addr add "$addr/24" dev "$ve" &&
	ip -n "$ns" link set "$ve" up || die "rebuilding $ns"
	link_add "$dev" "$ns" "$ve"
	;;
up:rmmod)
	args=()
	[ -z "${RODP_PACKET_PATH:-}" ] ||
		args=(packet_path="$RODP_PACKET_PATH")
	[ -d /sys/module/rodp ] ||
		insmod "${RODP_KO:?RODP_KO not set}" "${args[@]}" ||
		die "insmod $RODP_KO"
	link_add rodp0 ns0 ve0
	link_add rodp1 ns1 ve1
	;;
*)
	die "unknown"
	;;
esac
