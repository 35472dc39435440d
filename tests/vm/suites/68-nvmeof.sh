#!/bin/bash
# VM suite "nvmeof": NVMe over Fabrics on RDMA, two kernel ULPs on rodp.
# rodp-suite-timeout: 480
#
# The target (nvmet + nvmet-rdma) exports a 32 MiB brd ramdisk; the host
# (nvme-rdma, through nvme-cli's `nvme discover` and `nvme connect -t
# rdma`) connects to it over rdma_cm, which runs its CM MADs on rodp's
# QP1.  The host registers every I/O's pages with fast-registration MRs
# (IB_WR_REG_MR) and asks for remote invalidation; the target moves the
# data with RDMA READ and WRITE (rdma_rw) and answers with SEND or
# SEND_WITH_INV.  Then, O_DIRECT both ways: 8 MiB of random data written
# and read back with dd (1 MiB I/Os: memory regions of 256 pages), odd
# dd sizes, and tests/vm/nvme_dio.py's cases: lengths that are multiples
# of 512 but not of 4096, user buffers that start inside a page (the MR
# starts at an offset and spans many pages), an I/O larger than one MR
# (split by the block layer), and a read of the whole area to catch
# writes outside their range.  What the host wrote must be on the
# target's ramdisk too.  Both I/O queues at once (a writer, then a
# reader, on each CPU); the device's counters must show the traffic and
# no access NAK.  A controller reset, idle and then under a busy writer
# (queues drained and destroyed with I/O in flight, the I/O requeued):
# the writer sees no error, the data is intact.  Then `nvme disconnect`,
# the target torn down, the modules unloaded, `rdma resource show` as it
# was before (but for ib_core's idle pool CQs, which live as long as the
# device), no I/O error, timeout or reset we did not ask for in the
# kernel log (the runner checks for WARN, oops, lockdep and hung tasks).
#
# Topology: kernel ULPs create their cm_ids in the initial network
# namespace, where the default topology (tests/vm/harness/topology.sh)
# has only rxe0 (on ve2, 10.77.0.2); rodp0 and rodp1 are in ns0 and ns1.
# rdma_rxe holds UDP port 4791 of the initial namespace for as long as
# it is loaded, so this suite deletes rxe0, unloads rdma_rxe and adds
# rodp2 on ve2: host and target both use rodp2 and 10.77.0.2 (loopback
# on one device, as the rodp0:rodp0 pairing of the other suites).  At the
# end, also when a case fails or the suite is stopped (trap), rodp2 goes
# and rxe0 comes back on ve2 as the topology made it, so that the later
# suites (70-netem, 90-teardown) find the default topology.
#
# RODP_NVME_DEV=rxe runs the same cases on rxe0 (no topology change): a
# development aid to tell a rodp problem from a problem of the suite.
set -u
# shellcheck source=tests/vm/harness/tap.sh
. "$RODP_REPO/tests/vm/harness/tap.sh"

KROOT=$RODP_REPO/build/deps/$(uname -r)/root
DIO=$RODP_REPO/tests/vm/nvme_dio.py
MODE=${RODP_NVME_DEV:-rodp}
ADDR=10.77.0.2
PORT=4420
NQN=nqn.2026-12.org.rodp:nvmeof-test
HOSTNQN=nqn.2014-08.org.nvmexpress:uuid:6f0d5a1e-7c3b-4f58-9e1a-2b7c0d4e9f61
HOSTID=6f0d5a1e-7c3b-4f58-9e1a-2b7c0d4e9f61
CFG=/sys/kernel/config/nvmet
RAM=/dev/ram0
W=/tmp/nvmeof
BIG=8		# MiB written with dd
AREA_BASE=$((16 << 20))
AREA_SIZE=$((6 << 20))
SEED=$RANDOM

case $MODE in
rodp) DEV=rodp2 ;;
rxe) DEV=rxe0 ;;
*) echo "RODP_NVME_DEV=$MODE: rodp or rxe" >&2; exit 2 ;;
esac

NDIO=$(python3 "$DIO" --count)
plan $((31 + NDIO))

mod()
{
	modprobe -d "$KROOT" "$@"
}

# `rdma resource show` without the CQ counts, and the CQs apart: the
# target takes its CQs from ib_core's shared CQ pool of the device
# (ib_cq_pool_get()), and the pool keeps them, idle, until the device is
# unregistered.
resources()
{
	rdma resource show 2>&1 | sed 's/^[0-9]*: //; s/ cq [0-9]* / /' | sort
}

# The CQs of $DEV, one "cqn N ... comm X" line each.
cq_list()
{
	rdma resource show cq dev "$DEV" 2>&1 | sed 's/^dev [^ ]* //'
}

# cqs_since LIST: the CQs that are not in LIST (an earlier cq_list) and
# are not idle pool CQs ("users 0", made by ib_core); none, or the
# lines of those that are.
cqs_since()
{
	local line cqn
	while IFS= read -r line; do
		cqn=${line%% cqe *}
		grep -qx "$cqn .*" <<<"$1" && continue
		[[ $line =~ \ users\ 0\ .*comm\ \[ib_core\] ]] && continue
		echo "$line"
	done <<<"$(cq_list)"
}

# counter NAME: one of $DEV's port counters.
counter()
{
	rdma statistic show link "$DEV/1" 2>/dev/null |
		awk -v c="$1" '{ for (i = 1; i < NF; i++) if ($i == c) print $(i + 1) }'
}

gid_up()
{
	port_is "$1" state PORT_ACTIVE &&
		grep -qs "^0000:0000:0000:0000:0000:ffff:0a4d:0002" \
			/sys/class/infiniband/"$1"/ports/1/gids/*
}

# The namespace's block device: nvmeXnY whose controller (or, with
# native multipath, subsystem) has our NQN.
nvme_bdev()
{
	local b
	for b in /sys/block/nvme*n*; do
		[[ ${b##*/} =~ ^nvme[0-9]+n[0-9]+$ ]] || continue
		if [ "$(cat "$b/device/subsysnqn" 2>/dev/null)" = "$NQN" ]; then
			echo "/dev/${b##*/}"
			return 0
		fi
	done
	return 1
}

no_bdev()
{
	! nvme_bdev >/dev/null
}

# Diagnostics for a failed case: the kernel log since the start, and
# the device's counters.
evidence()
{
	diag "kernel log since the suite began:"
	kmsg_since "$MARK" | tail -n 40 | sed 's/^/#   /'
	diag "rdma statistic show link $DEV/1:"
	rdma statistic show link "$DEV/1" 2>&1 | fold -w 100 | sed 's/^/#   /'
}

# --- the target (nvmet, configfs) ---

target_up()
{
	local s=$CFG/subsystems/$NQN p=$CFG/ports/1
	mountpoint -q /sys/kernel/config ||
		mount -t configfs none /sys/kernel/config || return 1
	mkdir "$s" &&
	echo 1 >"$s/attr_allow_any_host" &&
	mkdir "$s/namespaces/1" &&
	echo -n "$RAM" >"$s/namespaces/1/device_path" &&
	echo 1 >"$s/namespaces/1/enable" &&
	mkdir "$p" &&
	echo rdma >"$p/addr_trtype" &&
	echo ipv4 >"$p/addr_adrfam" &&
	echo "$ADDR" >"$p/addr_traddr" &&
	echo "$PORT" >"$p/addr_trsvcid" &&
	ln -s "$s" "$p/subsystems/$NQN"
}

# Quiet and idempotent: also the trap's.
target_down()
{
	local s=$CFG/subsystems/$NQN p=$CFG/ports/1 rc=0
	[ -d "$CFG" ] || return 0
	if [ -L "$p/subsystems/$NQN" ]; then
		rm "$p/subsystems/$NQN" || rc=1
	fi
	if [ -d "$p" ]; then
		rmdir "$p" || rc=1
	fi
	if [ -d "$s/namespaces/1" ]; then
		echo 0 >"$s/namespaces/1/enable"
		rmdir "$s/namespaces/1" || rc=1
	fi
	if [ -d "$s" ]; then
		rmdir "$s" || rc=1
	fi
	return $rc
}

# In dependency order: on 6.12 and later nvmet uses nvme_core too.
MODS_UNLOAD=(nvme_rdma nvmet_rdma nvmet nvme_fabrics nvme_core brd)

mods_down()
{
	local m rc=0
	for m in "${MODS_UNLOAD[@]}"; do
		if [ -d "/sys/module/$m" ]; then
			rmmod "$m" || rc=1
		fi
	done
	return $rc
}

mods_gone()
{
	local m
	for m in "${MODS_UNLOAD[@]}"; do
		[ ! -d "/sys/module/$m" ] || { echo "$m still loaded"; return 1; }
	done
}

# --- the topology ---

# rodp2 in place of rxe0 on ve2 (see the top of this file).
topo_rodp()
{
	rdma link del rxe0 || return 1
	if ! rmmod rdma_rxe; then
		diag "rmmod rdma_rxe: $(lsmod | grep -w rdma_rxe)"
		return 1
	fi
	rdma link add rodp2 type rodp netdev ve2 || return 1
	wait_for 30 gid_up rodp2
}

topo_restore()
{
	if [ "$MODE" = rodp ]; then
		rdma link del rodp2 2>/dev/null
		if [ ! -d /sys/module/rdma_rxe ]; then
			mod rdma_rxe || return 1
		fi
		if ! rdma link show rxe0/1 >/dev/null 2>&1; then
			rdma link add rxe0 type rxe netdev ve2 || return 1
		fi
	fi
	wait_for 30 gid_up rxe0
}

cleanup()
{
	[ -n "${CLEANED:-}" ] && return
	CLEANED=1
	if ! no_bdev; then
		timeout 60 nvme disconnect -n "$NQN" >/dev/null 2>&1
	fi
	target_down 2>/dev/null
	mods_down 2>/dev/null
	topo_restore >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 143' TERM INT

MARK=$(kmsg_mark "nvmeof suite on $DEV, seed $SEED")
diag "device $DEV, random seed $SEED"
mkdir -p "$W"

# 1-2: the topology and the modules
if [ "$MODE" = rodp ]; then
	check "rxe0 gives way, rodp2 on ve2 ($ADDR) is ACTIVE" topo_rodp
else
	check "rxe0 on ve2 ($ADDR) is ACTIVE" wait_for 30 gid_up rxe0
fi
before=$(resources)
before_cqs=$(cq_list)
if [ "$MODE" = rodp ]; then
	RX=rx_pkts
else
	RX=rcvd_pkts
fi
rx0=$(counter $RX)
check "nvmet, nvmet-rdma, nvme-rdma and brd load" eval \
	'mod brd rd_nr=1 rd_size=32768 && mod nvmet && mod nvmet-rdma &&
	 mod nvme_core io_timeout=20 admin_timeout=20 && mod nvme-rdma'

# 3-4: the target
check "the target exports $RAM as $NQN on rdma $ADDR:$PORT" target_up
check "nvmet-rdma listens on $ADDR:$PORT" wait_for 10 eval \
	"kmsg_since '$MARK' | grep -q 'enabling port 1 ($ADDR:$PORT)'"

# 5: discovery (a short-lived controller: connect, log page, disconnect)
out=$(within 90 nvme discover -t rdma -a "$ADDR" -s "$PORT" \
	-q "$HOSTNQN" -I "$HOSTID" 2>&1)
rc=$?
if [ $rc -eq 0 ] && grep -q "subnqn: *$NQN" <<<"$out"; then
	pass "nvme discover -t rdma lists $NQN"
else
	fail "nvme discover -t rdma lists $NQN"
	diag "nvme discover: exit $rc"
	printf '%s\n' "$out" | sed 's/^/#   /'
	evidence
fi

# 6-7: connect
out=$(within 120 nvme connect -t rdma -a "$ADDR" -s "$PORT" -n "$NQN" \
	-q "$HOSTNQN" -I "$HOSTID" -l 20 -c 2 2>&1)
rc=$?
if [ $rc -eq 0 ]; then
	pass "nvme connect -t rdma -n $NQN"
else
	fail "nvme connect -t rdma -n $NQN"
	diag "nvme connect: exit $rc"
	printf '%s\n' "$out" | sed 's/^/#   /'
	evidence
fi
wait_for 20 nvme_bdev
BDEV=$(nvme_bdev)
if [ -n "$BDEV" ]; then
	is "the namespace $BDEV has the ramdisk's size" \
		"$(blockdev --getsize64 "$BDEV")" $((32 << 20))
else
	fail "the namespace's block device appears"
	BDEV=/dev/nonexistent
fi

mrs=$(rdma resource show mr dev "$DEV" 2>/dev/null |
	grep -c 'comm \[nvme_rdma\]')
if [ "$mrs" -gt 0 ]; then
	pass "the host holds fast-registration MRs on $DEV ($mrs)"
else
	fail "the host holds fast-registration MRs on $DEV"
	rdma resource show mr dev "$DEV" 2>&1 | head -n 5 | sed 's/^/#   /'
fi

q=/sys/block/${BDEV#/dev/}/queue
diag "$BDEV: max_hw_sectors_kb $(cat "$q/max_hw_sectors_kb" 2>&1)," \
	"max_segments $(cat "$q/max_segments" 2>&1)," \
	"dma_alignment $(cat "$q/dma_alignment" 2>&1)"

# 8-10: dd, 1 MiB I/Os, O_DIRECT both ways
head -c $((BIG << 20)) /dev/urandom >"$W/big"
check "dd writes $BIG MiB of random data (bs=1M, O_DIRECT)" within 120 \
	dd if="$W/big" of="$BDEV" bs=1M oflag=direct conv=fsync status=none
check "dd reads them back (bs=1M, O_DIRECT): identical" eval \
	"within 120 dd if='$BDEV' of='$W/big.back' bs=1M count=$BIG \
	 iflag=direct status=none && cmp '$W/big' '$W/big.back'"
check "the target's $RAM holds them" eval \
	"dd if=$RAM of='$W/big.ram' bs=1M count=$BIG iflag=direct \
	 status=none && cmp '$W/big' '$W/big.ram'"

# 11-12: dd, odd sizes
head -c $((4608 * 37)) /dev/urandom >"$W/odd"
check "dd writes 37 x 4608 bytes at 12 MiB + 1536 (O_DIRECT)" within 60 \
	dd if="$W/odd" of="$BDEV" bs=4608 oflag=direct,seek_bytes \
	seek=$(((12 << 20) + 1536)) status=none
check "dd reads them back as 3 x 56832 bytes (O_DIRECT): identical" eval \
	"within 60 dd if='$BDEV' of='$W/odd.back' bs=56832 count=3 \
	 iflag=direct,skip_bytes skip=$(((12 << 20) + 1536)) status=none &&
	 cmp '$W/odd' '$W/odd.back'"

# 13..: misaligned buffers, odd lengths, many pages
tap_run "$NDIO" within 240 python3 "$DIO" "$BDEV" $AREA_BASE $AREA_SIZE \
	"$SEED" "$W/model"
check "the target's $RAM holds the area as written" eval \
	"dd if=$RAM of='$W/area.ram' bs=1M skip=$((AREA_BASE >> 20)) \
	 count=$((AREA_SIZE >> 20)) iflag=direct status=none &&
	 cmp '$W/model' '$W/area.ram'"
# both I/O queues at once: a writer, then a reader, on each CPU
head -c $((2 << 20)) /dev/urandom >"$W/p0"
head -c $((2 << 20)) /dev/urandom >"$W/p1"
# par WHAT: WHAT=write or read, p0 at 24 MiB from CPU 0 and p1 at 26 MiB
# from CPU 1, 64 KiB O_DIRECT I/Os.
par()
{
	local i pids=() rc=0
	for i in 0 1; do
		if [ "$1" = write ]; then
			taskset -c $i dd if="$W/p$i" of="$BDEV" bs=64k \
				oflag=direct,seek_bytes seek=$(((24 + 2 * i) << 20)) \
				status=none &
		else
			taskset -c $i dd if="$BDEV" of="$W/p$i.back" bs=64k \
				count=32 iflag=direct,skip_bytes \
				skip=$(((24 + 2 * i) << 20)) status=none &
		fi
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || rc=1
	done
	return $rc
}
check "two writers at once, on CPU 0 and CPU 1 (2 x 2 MiB)" within 120 \
	par write
check "two readers at once read them back: identical" eval \
	"within 120 par read && cmp '$W/p0' '$W/p0.back' &&
	 cmp '$W/p1' '$W/p1.back'"

rx=$(( $(counter $RX) - rx0 ))
# At least the 14 MiB written and the 14 MiB read, in 4096-byte packets.
if [ "$MODE" = rodp ]; then
	naks=$(( $(counter tx_nak_access) + $(counter tx_nak_inv) ))
else
	naks=0
fi
if [ "$rx" -ge $((28 << 8)) ] && [ "$naks" -eq 0 ]; then
	pass "$DEV carried it: $rx packets received, no access or invalid-request NAK"
else
	fail "$DEV carried it: $rx packets received, no access or invalid-request NAK"
	diag "$naks NAKs"
fi
[ "$TAP_FAILED" -eq 0 ] || evidence

# a controller reset: queues torn down (drain, QPs and MRs destroyed)
# and connected again
CTRL=
for c in /sys/class/nvme/nvme*; do
	if [ "$(cat "$c/subsysnqn" 2>/dev/null)" = "$NQN" ]; then
		CTRL=${c##*/}
	fi
done
kmsg_mark "nvmeof: nvme reset $CTRL" >/dev/null
ctrl_live()
{
	[ "$(cat "/sys/class/nvme/$CTRL/state" 2>/dev/null)" = live ]
}
check "nvme reset /dev/$CTRL: the controller is live again" eval \
	"within 60 nvme reset '/dev/$CTRL' && wait_for 60 ctrl_live"
check "after the reset, dd reads the $BIG MiB back: identical" eval \
	"within 120 dd if='$BDEV' of='$W/big.back2' bs=1M count=$BIG \
	 iflag=direct status=none && cmp '$W/big' '$W/big.back2'"

# A reset while a writer is busy: its I/Os in flight are cancelled with
# the queues (flushed work requests, MRs of unfinished I/Os) and sent
# again on the new queues; the writer must not see an error.
head -c $((BIG << 20)) /dev/urandom >"$W/big2"
reset_busy()
{
	local pid rc=0
	# Six passes over the same 8 MiB: some seconds of writing.
	(
		for _ in 1 2 3 4 5 6; do
			dd if="$W/big2" of="$BDEV" bs=32k oflag=direct \
				status=none || exit 1
		done
	) &
	pid=$!
	sleep 0.5
	exited $pid && { echo "the writer ended before the reset"; rc=1; }
	kmsg_mark "nvmeof: nvme reset $CTRL under a writer" >/dev/null
	nvme reset "/dev/$CTRL" || rc=1
	wait_for 60 ctrl_live || { echo "not live"; rc=1; }
	wait $pid || { echo "the writer failed"; rc=1; }
	return $rc
}
check "nvme reset under a writer: the writer ends without error" within 180 \
	reset_busy
check "the $BIG MiB it wrote read back: identical" eval \
	"within 120 dd if='$BDEV' of='$W/big2.back' bs=1M count=$BIG \
	 iflag=direct status=none && cmp '$W/big2' '$W/big2.back'"

# disconnect and teardown
out=$(within 60 nvme disconnect -n "$NQN" 2>&1)
rc=$?
if [ $rc -eq 0 ] && grep -q "disconnected 1 controller" <<<"$out"; then
	pass "nvme disconnect -n $NQN: 1 controller"
else
	fail "nvme disconnect -n $NQN: 1 controller"
	diag "nvme disconnect: exit $rc: $out"
fi
check "the namespace's block device is gone" wait_for 20 no_bdev
check "the target is torn down (configfs)" target_down
check "the modules unload" eval 'mods_down && mods_gone'
after=$(resources)
new_cqs=$(cqs_since "$before_cqs")
if [ "$before" = "$after" ] && [ -z "$new_cqs" ]; then
	pass "rdma resource show: as before (new CQs: idle pool CQs)"
else
	fail "rdma resource show: as before (new CQs: idle pool CQs)"
	diag "before: $before"
	diag "after: $after"
	diag "CQs left: $new_cqs"
fi
io_errors=$(kmsg_since "$MARK" | grep -Ei \
	'I/O error|blk_update|resetting|reconnect|timeout|failed|error' |
	grep -v "rodp-suite\|nvmeof suite\|nvmeof: nvme reset" |
	grep -v "nvme $CTRL: resetting controller\$")
if [ -z "$io_errors" ]; then
	pass "kernel log: no I/O error, timeout or unasked reset"
else
	fail "kernel log: no I/O error, timeout or unasked reset"
	printf '%s\n' "$io_errors" | head -n 20 | sed 's/^/#   /'
fi
check "nvme-rdma logged the connection to $NQN" eval \
	"kmsg_since '$MARK' | grep -q 'new ctrl: NQN \"$NQN\", addr $ADDR:$PORT'"
if [ "$MODE" = rodp ]; then
	check "rdma link del rodp2" eval \
		'rdma link del rodp2 && ! rdma link show rodp2/1 >/dev/null 2>&1'
else
	pass "rxe mode: rxe0 stays (development run)"
fi
check "rxe0 is back on ve2, ACTIVE" topo_restore
check "rodp0 and rodp1 are still ACTIVE" eval \
	'ip netns exec ns0 rdma link show rodp0/1 | grep -q ACTIVE &&
	 ip netns exec ns1 rdma link show rodp1/1 | grep -q ACTIVE'
CLEANED=1
rm -rf "$W"
done_testing
