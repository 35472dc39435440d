#!/bin/bash
# VM suite "teardown": devices and the module go away cleanly.
#  - `rdma link del rodp1` completes while a process holds rodp1 open
#    with a PD, CQ, MR and QP; the process gets DEVICE_FATAL and errors,
#    it does not crash or hang;
#  - a rodp device goes away with its netdev (`ip link del`) and with its
#    network namespace (`ip netns del`), and its namespace's UDP 4791
#    socket goes with the last device there;
#  - `rdma link del rodp0`, then `rmmod rodp` with no device left;
#  - `rmmod rodp` with a device still present;
#  - the stack comes back (insmod, rodp0 and rodp1 ACTIVE).
# The kernel log of the whole suite is checked by the runner.
# Runs last: it unloads rodp.ko.
set -u
. "$(dirname "$0")/../harness/tap.sh"

KO=$RODP_KO
# The module parameters the harness loaded it with (RODP_PACKET_PATH).
KO_ARGS=()
[ -z "${RODP_PACKET_PATH:-}" ] ||
	KO_ARGS=(packet_path="$RODP_PACKET_PATH"
		 direct_call=$((RODP_PACKET_PATH ? 0 : 1)))
HOLDDEV=$RODP_REPO/build/cmake/tests/vm/vm_holddev

plan 23

check "rodp.ko is loaded" test -d /sys/module/rodp

listed()
{
	ibv_devices 2>/dev/null | awk 'NR > 2 { print $1 }' | grep -qx "$1"
}

gone()
{
	! rdma link show "$1/1" >/dev/null 2>&1 && ! listed "$1"
}

# 1. Delete a device under a process that holds it.
ready=/tmp/holddev.ready
rm -f "$ready"
ip netns exec ns1 "$HOLDDEV" rodp1 "$ready" >/tmp/holddev.out 2>&1 &
holder=$!
# Ready, or already dead: no need to wait longer.
settled()
{
	[ -f "$ready" ] || exited $holder
}
wait_for 30 settled
check "a process opens rodp1 and creates PD, CQ, MR, QP" test -f "$ready"
check "rdma link del rodp1 completes while it is held" \
	within 60 rdma link del rodp1
if wait_for 30 exited $holder; then
	wait $holder
	status=$?
else
	status=timeout
	kill -9 $holder 2>/dev/null
fi
is "the holder gets DEVICE_FATAL and errors, exits 0 (no crash)" \
	"$status" 0
sed 's/^/#   /' /tmp/holddev.out
# (A del that blocked until the holder died finishes now.)
check "rodp1 is gone" wait_for 10 gone rodp1

# 2. Devices follow their netdev and their namespace.
udp4791()
{
	ip netns exec "$1" ss -Hlun 'sport = :4791' | grep -q .
}
no_udp4791()
{
	! udp4791 "$1"
}
del_vex()
{
	ip -n nsx link del vex && wait_for 10 gone rodpx
}
check "ns0 has a UDP 4791 socket (rodp0)" udp4791 ns0
check "rdma link del rodp1 closed ns1's UDP 4791 socket" no_udp4791 ns1

ip netns add nsx
ip link add vex type veth peer name vexp
ip link set vex netns nsx
ip -n nsx link set vex up
ip -n nsx link set lo up
ip -n nsx addr add 10.77.0.20/24 dev vex
check "rdma link add rodpx on nsx/vex" \
	ip netns exec nsx rdma link add rodpx type rodp netdev vex
check "ip link del vex removes rodpx" del_vex
check "nsx's UDP 4791 socket is closed" no_udp4791 nsx

ip link add vex type veth peer name vexp
ip link set vex netns nsx
ip -n nsx link set vex up
ip -n nsx addr add 10.77.0.20/24 dev vex
ip netns exec nsx rdma link add rodpx type rodp netdev vex
check "ip netns del nsx (with rodpx in it) completes" within 60 ip netns del nsx
check "rodpx is gone with its namespace" wait_for 30 gone rodpx

# 3. Delete the other device, then unload the module.
check "rdma link del rodp0" within 60 rdma link del rodp0
check "rodp0 is gone" gone rodp0
check "ns0's UDP 4791 socket is closed" no_udp4791 ns0
check "rmmod rodp with no devices" within 60 rmmod rodp
check "rodp is unloaded" test ! -d /sys/module/rodp

# 4. Unload the module under a device.
check "insmod rodp.ko again" insmod "$KO" "${KO_ARGS[@]}"
check "rdma link add rodp2 on ns0/ve0" \
	ip netns exec ns0 rdma link add rodp2 type rodp netdev ve0
check "rodp2 is PORT_ACTIVE" wait_for 10 port_is rodp2 state PORT_ACTIVE
check "rmmod rodp with rodp2 present" within 60 rmmod rodp
if gone rodp2 && [ ! -d /sys/module/rodp ]; then
	pass "rodp2 and the module are gone"
else
	fail "rodp2 and the module are gone"
fi

# 5. The stack comes back as the harness built it.
restore()
{
	insmod "$KO" "${KO_ARGS[@]}" &&
	ip netns exec ns0 rdma link add rodp0 type rodp netdev ve0 &&
	ip netns exec ns1 rdma link add rodp1 type rodp netdev ve1 &&
	wait_for 10 port_is rodp0 state PORT_ACTIVE &&
	wait_for 10 port_is rodp1 state PORT_ACTIVE
}
check "reload: rodp0 and rodp1 ACTIVE again" restore

done_testing
