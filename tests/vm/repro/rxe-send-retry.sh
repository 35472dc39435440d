#!/bin/bash
# tests/vm/repro/rxe-send-retry.sh [delay|loss] [RUNS]: reproduce rxe's
# retransmission bug (README, "Known problems") in the test guest:
#   ./rodp vm --need-rodp -- tests/vm/repro/rxe-send-retry.sh delay 4
# ib_send_bw 64 KiB x 300 from rxe0 (initial netns) to rodp0 (ns0) with
# perftest's default QP timeout (67 ms).  "delay" holds rodp0's ACKs for
# 100 ms on ve0, so that rxe retransmits while ACKs are on their way
# (that is what breaks rxe's stream: about one run in nine fails, rodp0
# NAKing a SEND_FIRST inside a message, or a receive ending with
# LOC_LEN_ERR); "loss" drops 2% both ways instead (rxe's retries are
# then NAK-driven, and the runs pass).  Each run is captured on ve0
# (headers only); a failed run's capture, perftest outputs and rodp's
# reasons (dynamic debug) are kept in $RODP_VM_RUN/repro/.  Exits 1 when
# a run failed.
set -u
# shellcheck source=perftest/lib.sh
. "$RODP_REPO/perftest/lib.sh"
KROOT=$RODP_REPO/build/deps/$(uname -r)/root
mode=${1:-delay}
runs=${2:-4}
keep=$RODP_VM_RUN/repro
PT_DIR=/tmp/repro
PT_TIMEOUT=90
mkdir -p "$PT_DIR" "$keep"

modprobe -d "$KROOT" -a sch_netem || exit 2
echo 'module rodp +p' >/sys/kernel/debug/dynamic_debug/control
case $mode in
delay)	ip netns exec ns0 tc qdisc add dev ve0 root netem delay 100ms ;;
loss)	tc qdisc add dev ve2 root netem delay 1ms loss 2% &&
	ip netns exec ns0 tc qdisc add dev ve0 root netem delay 1ms loss 2% ;;
*)	echo "usage: $0 [delay|loss] [RUNS]" >&2; exit 2 ;;
esac

fails=0
for i in $(seq 1 "$runs"); do
	ip netns exec ns0 tcpdump -i ve0 -s 96 -w "$PT_DIR/cap$i.pcap" \
		udp port 4791 2>/dev/null &
	tp=$!
	sleep 1
	if pt_pair "run$i" ns0 rodp0 - rxe0 10.77.0.10 \
		ib_send_bw -s 65536 -n 300; then
		echo "run $i: passed"
		kill "$tp"
	else
		echo "run $i: FAILED: $PT_WHY"
		fails=$((fails + 1))
		kill "$tp"
		wait "$tp" 2>/dev/null
		cp "$PT_DIR/cap$i.pcap" "$PT_DIR"/run"$i".* "$keep"/
		dmesg | grep 'rodp0: qp' | tail -n 20 >"$keep/run$i.dmesg"
		cat "$keep/run$i.dmesg"
	fi
	wait "$tp" 2>/dev/null
done
ip netns exec ns0 tc qdisc del dev ve0 root 2>/dev/null
tc qdisc del dev ve2 root 2>/dev/null
echo 'module rodp -p' >/sys/kernel/debug/dynamic_debug/control
echo "$fails of $runs runs failed"
[ "$fails" = 0 ]
