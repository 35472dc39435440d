#!/bin/bash
# VM suite "basic": the devices of the default topology, as the stock
# tools see them.  rodp0 (ns0/ve0, 10.77.0.10) and rodp1 (ns1/ve1,
# 10.77.0.11) exist, are ACTIVE RoCE v2 Ethernet ports served by our
# provider; the port follows its netdev's state and MTU.
set -u
. "$(dirname "$0")/../harness/tap.sh"

plan 23

check "rodp.ko is loaded" test -d /sys/module/rodp
# rdma names a port's netdev only inside the netdev's namespace.
link_on()
{
	ip netns exec "$1" rdma link show "$2/1" | grep -q "netdev $3\b"
}
check "rdma link shows rodp0 on ns0/ve0" link_on ns0 rodp0 ve0
check "rdma link shows rodp1 on ns1/ve1" link_on ns1 rodp1 ve1
devices=$(ibv_devices | awk 'NR > 2 { print $1 }' | sort | tr '\n' ' ')
is "ibv_devices lists rodp0 rodp1 rxe0" "$devices" "rodp0 rodp1 rxe0 "

is "rodp0 port state" "$(port_attr rodp0 state)" PORT_ACTIVE
is "rodp1 port state" "$(port_attr rodp1 state)" PORT_ACTIVE
is "rodp0 link_layer" "$(port_attr rodp0 link_layer)" Ethernet

# ibv_devinfo -v: "GID[  N]:  ::ffff:10.77.0.10, RoCE v2"
gid_line=$(ibv_devinfo -d rodp0 -v | grep -E 'GID\[ *[0-9]+\]:' |
	grep -F '::ffff:10.77.0.10,' | head -n 1)
is "rodp0 has a RoCE v2 GID ::ffff:10.77.0.10" \
	"$(sed 's/.*, //' <<<"$gid_line")" "RoCE v2"
gid_line=$(ibv_devinfo -d rodp1 -v | grep -E 'GID\[ *[0-9]+\]:' |
	grep -F '::ffff:10.77.0.11,' | head -n 1)
is "rodp1 has a RoCE v2 GID ::ffff:10.77.0.11" \
	"$(sed 's/.*, //' <<<"$gid_line")" "RoCE v2"

# The same GID in sysfs, with its type and netdev.
sysfs_gid()
{
	local port=/sys/class/infiniband/rodp0/ports/1 f i
	for f in "$port"/gids/*; do
		i=${f##*/}
		[ "$(cat "$f")" = 0000:0000:0000:0000:0000:ffff:0a4d:000a ] ||
			continue
		[ "$(cat "$port/gid_attrs/types/$i")" = "RoCE v2" ] &&
		[ "$(cat "$port/gid_attrs/ndevs/$i")" = ve0 ] &&
			return 0
	done
	return 1
}
check "sysfs: rodp0 GID ::ffff:10.77.0.10 is RoCE v2 on ve0" sysfs_gid

# GIDs follow the netdev's addresses.
has_gid()
{
	ibv_devinfo -d "$1" -v | grep -E 'GID\[ *[0-9]+\]:' |
		grep -qF "$2, RoCE v2"
}
no_gid()
{
	! has_gid "$@"
}
ip -n ns0 addr add 10.77.1.10/24 dev ve0
check "a new address on ve0 becomes a RoCE v2 GID of rodp0" \
	wait_for 10 has_gid rodp0 ::ffff:10.77.1.10
ip -n ns0 addr del 10.77.1.10/24 dev ve0
check "the GID goes when the address goes" \
	wait_for 10 no_gid rodp0 ::ffff:10.77.1.10

# Our provider serves rodp0: libibverbs loads it, no other provider
# claims rodp0 without it, and it alone (RDMAV_DRIVERS) brings rodp0 back.
# The file name carries libibverbs' private ABI (34 up to rdma-core 56, 65
# in rdma-core 65); the guest set up the one built for this root.
so=${RODP_PROVIDER:?guest.sh sets RODP_PROVIDER}
provider=${so%-rdmav*.so}
abi=${so##*-rdmav}
abi=${abi%.so}
loads()
{
	LD_DEBUG=files ibv_devinfo -d "$1" 2>&1 >/dev/null |
		grep -q "file=$2 .*dynamically loaded"
}
listed()
{
	ibv_devices 2>/dev/null | awk 'NR > 2 { print $1 }' | grep -qx "$1"
}
check "libibverbs loads $so for rodp0" loads rodp0 "$so"
mv /etc/libibverbs.d/rodp.driver /tmp/rodp.driver.saved
without=$(IBV_SHOW_WARNINGS=1 ibv_devices 2>&1)
RDMAV_DRIVERS=$provider check "RDMAV_DRIVERS=librodp alone serves rodp0" \
	listed rodp0
mv /tmp/rodp.driver.saved /etc/libibverbs.d/rodp.driver
if grep -q 'driver found for rodp0' <<<"$without" &&
   ! awk 'NR > 2 { print $1 }' <<<"$without" | grep -qx rodp0; then
	pass "no other provider claims rodp0"
else
	fail "no other provider claims rodp0"
	printf '%s\n' "$without" | sed 's/^/#   /'
fi
check "rxe0 is still served by librxe-rdmav$abi.so" \
	loads rxe0 "[^ ]*/librxe-rdmav$abi.so"
is "rxe0 port state" "$(port_attr rxe0 state)" PORT_ACTIVE

# Link state follows the netdev.
ip -n ns0 link set ve0 down
check "rodp0 goes PORT_DOWN with ve0 down" \
	wait_for 10 port_is rodp0 state PORT_DOWN
is "rodp1 stays PORT_ACTIVE" "$(port_attr rodp1 state)" PORT_ACTIVE
ip -n ns0 link set ve0 up
check "rodp0 is PORT_ACTIVE again with ve0 up" \
	wait_for 10 port_is rodp0 state PORT_ACTIVE

# active_mtu is the largest IB MTU that fits the netdev MTU.
is "rodp0 active_mtu at netdev MTU 1500" "$(port_attr rodp0 active_mtu)" 1024
ip -n ns0 link set ve0 mtu 9000
check "rodp0 active_mtu 4096 at netdev MTU 9000" \
	wait_for 10 port_is rodp0 active_mtu 4096
ip -n ns0 link set ve0 mtu 1500
check "rodp0 active_mtu 1024 at netdev MTU 1500 again" \
	wait_for 10 port_is rodp0 active_mtu 1024

done_testing
