#!/bin/bash
# VM suite "uc": Unreliable Connected QPs.
# rodp-suite-timeout: 600
#
#  - tests/vm/uc_test.c (cmocka, TAP) in the pairings rodp0:rodp1,
#    rodp0:rodp0, rodp0:rxe0, rxe0:rodp0 and rxe0:rxe0 (the control),
#    then the four rodp pairings over IPv6 GIDs.  For its loss test the
#    packets with PSN 0x5a5a02 and 0x5a5a07 (uc_test's LOSS_PSN + 2, + 7)
#    are dropped with tc on the veths they leave by: ve0 in ns0 (rodp0's
#    packets to rodp1 and rxe0) and ve2 (rxe0's to rodp0).  Loopback
#    pairings never reach a netdev: no loss test there.
#  - ibv_devinfo -v reports UC ODP caps SEND, RECV and WRITE on rodp0.
#  - the stock tools with the drop filters gone: ibv_uc_pingpong -c (data
#    checked), ib_write_bw -c UC and ib_send_bw -c UC, in the pairings
#    rodp0 -> rodp1, rodp0 loopback, rodp0 -> rxe0 and rxe0 -> rodp0.
#    A pair passes when both sides exit 0 on their first run (nothing may
#    hang, not even once) and print their result line.
set -u
# shellcheck source=tests/vm/harness/tap.sh
. "$RODP_REPO/tests/vm/harness/tap.sh"
# shellcheck source=perftest/lib.sh
. "$RODP_REPO/perftest/lib.sh"

UC_TEST=$RODP_REPO/build/cmake/tests/vm/uc_test
PAIRS=(rodp0:rodp1 rodp0:rodp0 rodp0:rxe0 rxe0:rodp0 rxe0:rxe0)
LOSS=(--loss rodp0:rodp1 --loss rodp0:rxe0 --loss rxe0:rodp0)
export CMOCKA_MESSAGE_OUTPUT=TAP

if [ -n "${RODP_VM_RUN:-}" ]; then
	PT_DIR=$RODP_VM_RUN/suites/uc
else
	PT_DIR=$(mktemp -d /tmp/uc.XXXXXX)
fi
mkdir -p "$PT_DIR"
PT_PORT=18700
PT_TIMEOUT=60

run1=("${LOSS[@]}" "${PAIRS[@]}")
run2=(--ipv6 "${LOSS[@]}" rodp0:rodp0)

TOOL_CASES=()
for pairing in rodp-rodp rodp-loop rodp-rxe rxe-rodp; do
	for tool in ibv_uc_pingpong ib_write_bw ib_send_bw; do
		TOOL_CASES+=("$pairing $tool")
	done
done

n1=$("$UC_TEST" --count "${run1[@]}") || n1=0
n2=$("$UC_TEST" --count "${run2[@]}") || n2=0
plan $((n1 + n2 + 1 + ${#TOOL_CASES[@]}))

# drops NS DEV add|del: on DEV's egress, drop the RoCEv2 packets whose
# PSN is 0x5a5a02 or 0x5a5a07, IPv4 (BTH at offset 28, its PSN word at
# 36) and IPv6 (BTH at 48, PSN word at 56): a prio qdisc whose third
# band, where the filters send them, loses everything (netem loss 100%).
drops()
{
	local pre=() psn
	[ "$1" = - ] || pre=(ip netns exec "$1")
	if [ "$3" = del ]; then
		"${pre[@]}" tc qdisc del dev "$2" root 2>/dev/null
		return 0
	fi
	"${pre[@]}" tc qdisc add dev "$2" root handle 1: prio bands 3 \
		priomap 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 &&
	"${pre[@]}" tc qdisc add dev "$2" parent 1:3 handle 30: \
		netem loss 100% || return 1
	for psn in 0x005a5a02 0x005a5a07; do
		"${pre[@]}" tc filter add dev "$2" parent 1: protocol ip \
			prio 1 u32 match ip protocol 17 0xff \
			match ip dport 4791 0xffff \
			match u32 "$psn" 0x00ffffff at 36 flowid 1:3 &&
		"${pre[@]}" tc filter add dev "$2" parent 1: protocol ipv6 \
			prio 2 u32 match ip6 protocol 17 0xff \
			match ip6 dport 4791 0xffff \
			match u32 "$psn" 0x00ffffff at 56 flowid 1:3 ||
			return 1
	done
}

# dropped NS DEV: how many packets DEV's lossy band dropped.
dropped()
{
	local pre=()
	[ "$1" = - ] || pre=(ip netns exec "$1")
	"${pre[@]}" tc -s qdisc show dev "$2" |
		awk '/^qdisc netem 30:/ { on = 1; next }
		     on && /dropped/ { sub(/,/, "", $7); print $7; exit }'
}

KROOT=$RODP_REPO/build/deps/$(uname -r)/root
modprobe -d "$KROOT" -a sch_netem sch_prio cls_u32 ||
	diag "modprobe sch_netem sch_prio cls_u32 failed"
if drops ns0 ve0 add && drops - ve2 add; then
	diag "tc drop filters for PSN 0x5a5a02 and 0x5a5a07 on ns0/ve0 and ve2"
else
	diag "could not set up the tc drop filters: the loss tests will fail"
fi

tap_run "$n1" "$UC_TEST" "${run1[@]}"
tap_run "$n2" "$UC_TEST" "${run2[@]}"
diag "packets dropped by the filters: ve0 $(dropped ns0 ve0), ve2 $(dropped - ve2)"
drops ns0 ve0 del
drops - ve2 del

# ibv_devinfo -v: the UC ODP caps, exactly SEND, RECV and WRITE.
uc_odp_caps()
{
	ibv_devinfo -v -d rodp0 | awk '
		/odp_caps:/ { on = /^[[:space:]]*uc_odp_caps:/; next }
		/:/ { on = 0 }
		on && NF == 1 { printf "%s ", $1 }'
}
caps=$(uc_odp_caps)
is "ibv_devinfo -v: rodp0 UC ODP caps" "$caps" \
	"SUPPORT_SEND SUPPORT_RECV SUPPORT_WRITE "
[ -n "$caps" ] || ibv_devinfo -v -d rodp0 | grep -i -A4 "odp" | sed 's/^/# /'


# The stock tools.  ends PAIRING: server and client (namespace, device),
# the server's address.
ends()
{
	case $1 in
	rodp-rodp) set -- ns1 rodp1 ns0 rodp0 10.77.0.11 "rodp0 -> rodp1" ;;
	rodp-loop) set -- ns0 rodp0 ns0 rodp0 10.77.0.10 "rodp0 loopback" ;;
	rodp-rxe) set -- - rxe0 ns0 rodp0 10.77.0.2 "rodp0 -> rxe0" ;;
	rxe-rodp) set -- ns0 rodp0 - rxe0 10.77.0.10 "rxe0 -> rodp0" ;;
	esac
	SNS=$1 SDEV=$2 CNS=$3 CDEV=$4 ADDR=$5 LABEL=$6
}

N=0
for spec in "${TOOL_CASES[@]}"; do
	read -r pairing tool <<<"$spec"
	ends "$pairing"
	N=$((N + 1))
	case $tool in
	ibv_uc_pingpong)
		args=(-c -n 200)
		name="ibv_uc_pingpong -c -n 200 (data checked), $LABEL" ;;
	*)
		args=(-c UC -s 65536 -n 200)
		name="$tool -c UC -s 65536 -n 200, $LABEL" ;;
	esac
	if ! pt_pair "uc$N" "$SNS" "$SDEV" "$CNS" "$CDEV" "$ADDR" "$tool" \
		"${args[@]}"; then
		fail "$name"
		diag "$PT_WHY (outputs: $PT_DIR/uc$N.*)"
		continue
	fi
	if [ "$PT_TIMEDOUT" != 0 ]; then
		fail "$name"
		diag "the first run timed out (kept as uc$N.*.timeout)"
		continue
	fi
	if [ "$tool" = ibv_uc_pingpong ]; then
		res=$(pt_pingpong "$PT_DIR/uc$N.client")
	else
		res=$(pt_bw "$PT_DIR/uc$N.client")
	fi
	if [ -n "$res" ]; then
		pass "$name"
		diag "$res"
	else
		fail "$name"
		diag "no result line (outputs: $PT_DIR/uc$N.*)"
	fi
done
done_testing
