#!/bin/bash
# tests/vm/harness/topology.sh: the default network of every test guest.
#
#   initial namespace                      ns0                 ns1
#   +-----------------------------+   +----------------+  +----------------+
#   | br0 (bridge, no address)    |   | ve0 10.77.0.10 |  | ve1 10.77.0.11 |
#   |  +- ve0p  <--- veth pair ---+---+-> rodp0        |  |  rodp1         |
#   |  +- ve1p  <--- veth pair ---+---+----------------+--+->              |
#   |  +- ve2p  <--- veth pair    |   +----------------+  +----------------+
#   |             ve2 10.77.0.2   |
#   |             rxe0 (rdma_rxe) |
#   +-----------------------------+
#
# All links MTU 1500, lo up in every namespace.  rxe0 sits in the initial
# namespace, where rdma_rxe holds UDP port 4791; rodp0 and rodp1 (created
# only when rodp.ko is loaded) sit in ns0 and ns1, each namespace with its
# own port 4791.  The guest has no NIC: no packet leaves it.
set -eu

SUBNET=10.77.0

# veth_to_bridge NAME PEER: veth NAME with PEER enslaved to br0.
veth_to_bridge()
{
	ip link add "$1" type veth peer name "$2"
	ip link set "$2" master br0
	ip link set "$2" up
}

# in_netns NS NAME ADDR: move NAME into netns NS with ADDR/24.
in_netns()
{
	ip netns add "$1"
	ip -n "$1" link set lo up
	ip link set "$2" netns "$1"
	ip -n "$1" addr add "$3/24" dev "$2"
	ip -n "$1" link set "$2" up
}

# ARP flux: br0 (no address) sits in the initial namespace with ve2, and
# by default Linux answers ARP for any local address on any interface.  ns0
# could then learn 10.77.0.2 at br0's MAC, and rxe drops what arrives on
# br0 (no rxe device there): rodp could never start talking to rxe0.
# Answer only on the interface that has the address.
sysctl -q -w net.ipv4.conf.all.arp_ignore=1

ip link set lo up
ip link add br0 type bridge
ip link set br0 up

veth_to_bridge ve0 ve0p
in_netns ns0 ve0 "$SUBNET.10"
veth_to_bridge ve1 ve1p
in_netns ns1 ve1 "$SUBNET.11"

veth_to_bridge ve2 ve2p
ip addr add "$SUBNET.2/24" dev ve2
ip link set ve2 up

rdma link add rxe0 type rxe netdev ve2
echo "topology: br0; ns0/ve0 $SUBNET.10; ns1/ve1 $SUBNET.11; ve2 $SUBNET.2 rxe0"

if [ -d /sys/module/rodp ]; then
	ip netns exec ns0 rdma link add rodp0 type rodp netdev ve0
	ip netns exec ns1 rdma link add rodp1 type rodp netdev ve1
	echo "topology: rodp0 on ns0/ve0, rodp1 on ns1/ve1"
else
	echo "topology: rodp.ko not loaded, no rodp0/rodp1"
fi
