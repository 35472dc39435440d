#!/bin/bash
# tests/wire/guest-wrap.sh CMD...: the set-up of one guest of ./rodp vm2
# (scripts/vm2.sh), then CMD.  Loads virtio_net, brings the wire's NIC up
# with $RODP_WIRE_IP/24 and MTU $RODP_WIRE_MTU, mounts the rendezvous (9p
# tag "wire") at $RODP_WIRE, makes the RoCE device $RODP_WIRE_DEV (rodp,
# rxe or none) on the NIC, and waits (up to 120 s) until the peer answers
# ARP; then runs CMD.  Any set-up failure exits 125.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/wire/lib.sh
. "$here/lib.sh"

bad()
{
	echo "wire ($RODP_WIRE_ROLE): set-up failed: $*" >&2
	exit 125
}

modprobe -d "$WIRE_KROOT" virtio_net || bad "modprobe virtio_net"
for _ in $(seq 50); do
	nic=$(wire_nic) && break
	sleep 0.2
done
[ -n "${nic:-}" ] || bad "no NIC with a 52:54:00:78 MAC"
mountpoint -q "$RODP_WIRE" ||
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 wire \
		"$RODP_WIRE" || bad "cannot mount the rendezvous on $RODP_WIRE"
ip link set lo up
ip link set "$nic" mtu "${RODP_WIRE_MTU:-1500}" || bad "mtu"
ip addr add "$RODP_WIRE_IP/24" dev "$nic" || bad "address"
ip link set "$nic" up || bad "link up"
wire_use "${RODP_WIRE_DEV:-none}" || bad "wire_use $RODP_WIRE_DEV"
echo "wire ($RODP_WIRE_ROLE): $nic $RODP_WIRE_IP mtu $(cat \
	/sys/class/net/"$nic"/mtu), device $(wire_dev), kernel $(uname -r)"
ok=0
deadline=$((SECONDS + 120))
while [ $SECONDS -lt $deadline ]; do
	# No ping in the root: a UDP datagram to the discard port makes
	# the kernel resolve the peer's MAC (ARP), which is the answer.
	echo >"/dev/udp/$RODP_WIRE_PEER_IP/9" 2>/dev/null
	sleep 1
	why=$(ip neigh show "$RODP_WIRE_PEER_IP" dev "$nic")
	if grep -q lladdr <<<"$why"; then
		ok=1
		break
	fi
done
[ $ok = 1 ] || bad "no answer from $RODP_WIRE_PEER_IP in 120 s: $(tail -n 2 \
	<<<"$why" | tr '\n' ' '); $(ip -br link show "$nic")"
echo "wire ($RODP_WIRE_ROLE): $RODP_WIRE_PEER_IP answers: $why"
exec "$@"
