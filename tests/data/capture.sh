#!/bin/sh
# tests/data/capture.sh RXE_EMIT OUTDIR: capture reference RoCEv2 packets.
#
# Run inside the test guest, with nothing answering RoCE on the far side:
#   ./rodp vm --no-rodp -- tests/data/capture.sh <build>/tests/unit/rxe_emit
# rxe0 (on ve2, 10.77.0.2) sends rxe_emit's requests to a QP that does not
# exist at ve0 (10.77.0.10, namespace ns0); tcpdump on ve2 records them.
# Writes OUTDIR/rxe_rc_ipv4.pcap and, when the link-local GIDs work,
# OUTDIR/rxe_rc_ipv6.pcap.  Copy them to tests/data/.
set -eu
emit=$1 out=${2:-${RODP_VM_RUN:?no OUTDIR and not in ./rodp vm}}

capture()
{
	name=$1 filter=$2 remote=$3
	tcpdump -i ve2 -U -s 2048 -w "$out/$name" "$filter" \
		2>"$out/$name.tcpdump.log" &
	pid=$!
	sleep 2
	status=0
	"$emit" -w 2 "$remote" || status=$?
	sleep 1
	kill -INT "$pid"
	wait "$pid" || true
	return "$status"
}

capture rxe_rc_ipv4.pcap "ip and udp dst port 4791" 10.77.0.10

# IPv6: ve0's link-local address, reached through rxe0's link-local GID.
# Wait for duplicate address detection to finish on both ends.
for _ in 1 2 3 4 5 6 7 8 9 10; do
	ll=$(ip netns exec ns0 ip -6 -o addr show dev ve0 scope link \
		-tentative | awk '{ sub("/.*", "", $4); print $4; exit }')
	mine=$(ip -6 -o addr show dev ve2 scope link -tentative | wc -l)
	[ -n "$ll" ] && [ "$mine" -gt 0 ] && break
	sleep 1
done
if [ -n "$ll" ]; then
	capture rxe_rc_ipv6.pcap "ip6 and udp dst port 4791" "$ll" ||
		echo "capture.sh: IPv6 capture failed" >&2
else
	echo "capture.sh: ve0 has no link-local address" >&2
fi
ls -l "$out"
