#!/bin/bash
# VM suite "xrc": eXtended Reliable Connection (rxe has none of it).
# rodp-suite-timeout: 600
#
#  - tests/vm/xrc_test.c (cmocka, TAP): XRC_SEND to XRC_RECV QPs with two
#    XRC SRQs in one domain, SENDs, WRITE with immediate, READ and the
#    atomics with the data checked byte for byte, the completions in the
#    right SRQ's CQ; a wrong SRQ number and another domain's SRQ refused
#    (IBV_WC_REM_INV_REQ_ERR); ibv_open_qp() from a second context through
#    the domain's file; ODP memory on both sides; the devices' XRC
#    capabilities.  Pairings rodp0:rodp1 and rodp0:rodp0, then rodp0:rodp1
#    over IPv6 (link-local GIDs);
#  - the stock tool: ibv_xsrq_pingpong (one client; its -c counts clients
#    and is no data check), with and without --odp, rodp0 -> rodp1 and
#    rodp0 loopback.  A case passes when both sides exit 0 and print
#    "success".
set -u
# shellcheck source=tests/vm/harness/tap.sh
. "$(dirname "$0")/../harness/tap.sh"
# shellcheck source=perftest/lib.sh
. "$(dirname "$0")/../../../perftest/lib.sh"

XRC_TEST=$RODP_REPO/build/cmake/tests/vm/xrc_test
export CMOCKA_MESSAGE_OUTPUT=TAP
if [ -n "${RODP_VM_RUN:-}" ]; then
	PT_DIR=$RODP_VM_RUN/suites/xrc
else
	PT_DIR=$(mktemp -d /tmp/xrc.XXXXXX)
fi
mkdir -p "$PT_DIR"
# shellcheck disable=SC2034 # perftest/lib.sh reads them
PT_PORT=19100 PT_TIMEOUT=60
DEADLINE=$((SECONDS + ${RODP_SUITE_TIMEOUT:-240} - 15))

run1=(rodp0:rodp1 rodp0:rodp0)
run2=(--ipv6 rodp0:rodp1)

declare -A ENDS=(
	[rodp_rodp]="ns1 rodp1 ns0 rodp0 10.77.0.11"
	[rodp_loop]="ns0 rodp0 ns0 rodp0 10.77.0.10"
)
declare -A LABEL=(
	[rodp_rodp]="rodp0 -> rodp1"
	[rodp_loop]="rodp0 loopback"
)
TOOL_PAIRS="rodp_rodp rodp_loop"
TOOL_CASES=(
	"ibv_xsrq_pingpong -n 50 -s 4096"
	"ibv_xsrq_pingpong -n 50 -s 12000 -o"
)

n1=$("$XRC_TEST" --count "${run1[@]}") || n1=0
n2=$("$XRC_TEST" --count "${run2[@]}") || n2=0
ntools=0
for _ in $TOOL_PAIRS; do
	ntools=$((ntools + ${#TOOL_CASES[@]}))
done
plan $((n1 + n2 + ntools))

tap_run "$n1" "$XRC_TEST" "${run1[@]}"
tap_run "$n2" "$XRC_TEST" "${run2[@]}"

# tool_case ID PAIR TOOL [ARG...]: one server and one client.
tool_case()
{
	local id=$1 pair=$2 name mark why=''
	shift 2
	mark=$(kmsg_mark "xrc suite: $id")
	name="$* (${LABEL[$pair]})"
	if [ $((DEADLINE - SECONDS)) -lt 20 ]; then
		fail "$name"
		diag "not run: the suite's time is spent"
		return
	fi
	# shellcheck disable=SC2086 # the words of the ends
	if ! pt_pair "$id" ${ENDS[$pair]} "$@"; then
		why=$PT_WHY
	elif ! grep -qx success "$PT_DIR/$id.client" ||
	     ! grep -qx success "$PT_DIR/$id.server"; then
		why="a side did not print success"
	fi
	if [ -z "$why" ]; then
		pass "$name"
		diag "$(grep -m 1 'remote' "$PT_DIR/$id.client")"
	else
		fail "$name"
		diag "$why"
		tail -n 6 "$PT_DIR/$id.server" | sed 's/^/#   server: /'
		tail -n 6 "$PT_DIR/$id.client" | sed 's/^/#   client: /'
		kmsg_since "$mark" | grep -E 'rodp[01]: ' | tail -n 10 |
			sed 's/^/#   kernel: /'
	fi
}

i=0
for pair in $TOOL_PAIRS; do
	for spec in "${TOOL_CASES[@]}"; do
		i=$((i + 1))
		# shellcheck disable=SC2086 # spec is words
		tool_case "tool$i" "$pair" $spec
	done
done
done_testing
