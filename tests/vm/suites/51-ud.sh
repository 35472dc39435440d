#!/bin/bash
# VM suite "ud": UD queue pairs and address handles.
# rodp-suite-timeout: 600
#
# 1. tests/vm/ud_test.c (cmocka, TAP) in the pairings rodp0:rodp1 (across
#    namespaces), rodp0:rodp0 (one device), rodp0:rxe0 and rxe0:rodp0
#    (against the kernel's soft-RoCE) and rxe0:rxe0 (the control), over
#    the devices' IPv4 RoCE v2 GIDs; then the four rodp pairings again
#    over their IPv6 (link-local) GIDs.  Multicast (IPv4 239.1.1.7, IPv6
#    ff12::db8:7) in the pairings with rodp at both ends.
# 2. The stock tools over UD, in the pairings rodp0 -> rodp1, rodp0
#    loopback, rodp0 -> rxe0 and rxe0 -> rodp0 (perftest/lib.sh starts
#    each server/client pair in its namespace): ibv_ud_pingpong -c (the
#    received data checked), ib_send_bw -c UD and ib_send_lat -c UD, short
#    runs.  A case passes when both sides exit 0 and the client prints its
#    result line with a positive number.
set -u
# shellcheck source=tests/vm/harness/tap.sh
. "$RODP_REPO/tests/vm/harness/tap.sh"
# shellcheck source=perftest/lib.sh
. "$RODP_REPO/perftest/lib.sh"

UD_TEST=$RODP_REPO/build/cmake/tests/vm/ud_test
export CMOCKA_MESSAGE_OUTPUT=TAP
if [ -n "${RODP_VM_RUN:-}" ]; then
	PT_DIR=$RODP_VM_RUN/suites/ud
else
	PT_DIR=$(mktemp -d /tmp/ud.XXXXXX)
fi
mkdir -p "$PT_DIR"
PT_PORT=18900
PT_TIMEOUT=60

run1=(rodp0:rodp1 rodp0:rodp0 rodp0:rxe0 rxe0:rodp0 rxe0:rxe0)
run2=(--ipv6 rodp0:rodp1 rodp0:rodp0 rodp0:rxe0 rxe0:rodp0)

# PAIRING -> server namespace, server device, client namespace, client
# device, the server's address (for the tools' own TCP exchange).
declare -A ENDS=(
	[rodp0-rodp1]="ns1 rodp1 ns0 rodp0 10.77.0.11"
	[rodp0-loop]="ns0 rodp0 ns0 rodp0 10.77.0.10"
	[rodp0-rxe0]="- rxe0 ns0 rodp0 10.77.0.2"
	[rxe0-rodp0]="ns0 rodp0 - rxe0 10.77.0.10"
)
PAIRINGS=(rodp0-rodp1 rodp0-loop rodp0-rxe0 rxe0-rodp0)
# TOOL KIND ARGS...
TOOLS=(
	"ibv_ud_pingpong pp -c -n 100 -s 512"
	"ib_send_bw bw -c UD -n 200 -s 512"
	"ib_send_lat lat -c UD -n 200 -s 2"
)

n1=$("$UD_TEST" --count "${run1[@]}") || n1=0
n2=$("$UD_TEST" --count "${run2[@]}") || n2=0
plan $((n1 + n2 + ${#PAIRINGS[@]} * ${#TOOLS[@]}))

tap_run "$n1" "$UD_TEST" "${run1[@]}"
tap_run "$n2" "$UD_TEST" "${run2[@]}"

# tool_case PAIRING TOOL KIND ARGS...
tool_case()
{
	local pairing=$1 tool=$2 kind=$3 id res
	local -a ends
	shift 3
	read -ra ends <<<"${ENDS[$pairing]}"
	id="$pairing-$tool"
	if ! pt_pair "$id" "${ends[@]}" "$tool" "$@"; then
		fail "$tool $* $pairing"
		diag "$PT_WHY"
		diag "client: $(tail -n 3 "$PT_DIR/$id.client" | tr '\n' ' ')"
		return
	fi
	case $kind in
	pp)	res=$(pt_pingpong "$PT_DIR/$id.client") ;;
	bw)	res=$(pt_bw "$PT_DIR/$id.client") ;;
	lat)	res=$(pt_lat "$PT_DIR/$id.client") ;;
	esac
	# ibv_ud_pingpong: usec/iter (3rd), bw: BW average (4th), lat:
	# t_typical (5th).
	if [ -n "$res" ] && awk -v k="$kind" '{
		v = (k == "pp") ? $3 : (k == "bw") ? $4 : $5
		exit !(v ~ /^[0-9.]+$/ && v > 0) }' <<<"$(tail -n 1 <<<"$res")"
	then
		pass "$tool $* $pairing"
		diag "$(tail -n 1 <<<"$res")"
	else
		fail "$tool $* $pairing"
		diag "no positive result: '$res'"
	fi
}

for p in "${PAIRINGS[@]}"; do
	for t in "${TOOLS[@]}"; do
		# shellcheck disable=SC2086 # the words of the tool's line
		tool_case "$p" $t
	done
done
done_testing
