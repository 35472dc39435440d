#!/bin/bash
# tests/vm/harness/guest.sh RUN: the guest side of `./rodp vm`.
#
# Runs inside the guest, chrooted into the host's root (read-only), with
# the run's results folder RUN mounted read-write at its host path.
# Loads the RDMA stack (and rodp.ko when built), makes the provider
# visible, builds the default topology (topology.sh), runs the command
# that scripts/vm.sh wrote to RUN/cmd.sh and leaves in RUN:
#   harness.log   what this script did
#   stdout stderr the command's output
#   status        the command's exit status (absent: it never finished)
#   setup-error   why the stack or topology could not be set up
#   dmesg.txt     the whole kernel log, taken after the command
# RUN/env (from the host) sets RODP_VM_RODP (auto, need, no),
# RODP_VM_MODE (full; notopo: no topology; bare: nothing loaded, no
# topology), RODP_VM_DISTRO (the distribution whose root this is, empty
# for the host's), RODP_VM_DEADLINE (when the command must have ended, in
# seconds since the epoch) and the caller's RODP_* variables.
set -u

RUN=$1
HARNESS=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HARNESS/../../.." && pwd)
KVER=$(uname -r)
KROOT=$REPO/build/deps/$KVER/root
# The modules for the running kernel: build/cmake's for the default test
# kernel, scripts/build-kmod.sh's for the others.
if [ "$KVER" = "$(cat "$REPO/build/deps/kver" 2>/dev/null)" ]; then
	RODP_KO=$REPO/build/cmake/kmod/kbuild/rodp.ko
	RODP_KTEST_KO=$REPO/build/cmake/tests/vm/kmod/rodp_ktest.ko
else
	RODP_KO=$REPO/build/kmod/$KVER/rodp/rodp.ko
	RODP_KTEST_KO=$REPO/build/kmod/$KVER/ktest/rodp_ktest.ko
fi

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb
RODP_VM_RODP=auto
RODP_VM_MODE=full
RODP_VM_DISTRO=
RODP_VM_DEADLINE=
# shellcheck source=/dev/null
. "$RUN/env"
# The provider built against this root's libibverbs: build/cmake's for
# the host's, scripts/distro.sh's for a distribution's (its name carries
# that libibverbs' private ABI).
RODP_PROVIDER=$REPO/build/cmake/provider/librodp-rdmav34.so
if [ -n "$RODP_VM_DISTRO" ]; then
	RODP_PROVIDER=$(compgen -G \
		"$REPO/build/distro/$RODP_VM_DISTRO/provider/librodp-rdmav*.so" |
		head -n 1)
	RODP_PROVIDER=${RODP_PROVIDER:-$REPO/build/distro/$RODP_VM_DISTRO/provider/librodp-rdmavNN.so}
fi
export RODP_VM=1 RODP_VM_RUN=$RUN RODP_REPO=$REPO RODP_KO RODP_KTEST_KO
export RODP_VM_DISTRO RODP_PROVIDER

log()
{
	printf 'rodp-vm: %s\n' "$*" >>"$RUN/harness.log"
}

# Save the kernel log; the host checks it.
save_dmesg()
{
	dmesg >"$RUN/dmesg.txt"
	sync
}

setup_failed()
{
	log "setup failed: $*"
	printf '%s\n' "$*" >"$RUN/setup-error"
	save_dmesg
	exit 1
}

# The guest has no /lib/modules: modprobe from the unpacked packages,
# and load what the kernel would request_module() by itself.
load_stack()
{
	local mod
	for mod in ib_core ib_uverbs udp_tunnel ip6_udp_tunnel crc32_generic \
		   rdma_rxe veth bridge; do
		# Newer kernels build crc32 in: no crc32_generic module.
		if [ $mod = crc32_generic ] &&
		   ! modprobe -d "$KROOT" -n "$mod" 2>/dev/null; then
			continue
		fi
		modprobe -d "$KROOT" "$mod" ||
			setup_failed "modprobe $mod failed"
	done
	if modprobe -d "$KROOT" -n rdma_ucm 2>/dev/null; then
		modprobe -d "$KROOT" rdma_ucm ||
			setup_failed "modprobe rdma_ucm failed"
	fi
	log "stack: $(lsmod | awk 'NR > 1 { print $1 }' | sort | tr '\n' ' ')"
}

load_rodp()
{
	if [ "$RODP_VM_RODP" = no ]; then
		log "rodp: not loaded (--no-rodp)"
		return
	fi
	if [ ! -f "$RODP_KO" ]; then
		[ "$RODP_VM_RODP" = need ] &&
			setup_failed "rodp.ko not built ($RODP_KO)"
		log "rodp: SKIPPED, $RODP_KO not built: no rodp0/rodp1"
		return
	fi
	# RODP_PACKET_PATH=1: every packet through the network stack, none
	# handed over directly between namespaces (kmod/rodp_direct.c).
	local args=()
	# No calls either (kmod/rodp_call.c): every request a packet.
	[ -z "${RODP_PACKET_PATH:-}" ] ||
		args=(packet_path="$RODP_PACKET_PATH"
		      direct_call=$((RODP_PACKET_PATH ? 0 : 1)))
	insmod "$RODP_KO" "${args[@]}" ||
		setup_failed "insmod $RODP_KO ${args[*]} failed"
	log "rodp: loaded $RODP_KO ${args[*]}"
}

# / is read-only: a tmpfs over /etc/libibverbs.d with the root's drivers
# plus ours (libibverbs appends -rdmav<ABI>.so to an absolute name).
setup_provider()
{
	local d=/etc/libibverbs.d keep=/tmp/.libibverbs.d

	if [ ! -f "$RODP_PROVIDER" ]; then
		[ "$RODP_VM_RODP" = need ] &&
			setup_failed "provider not built ($RODP_PROVIDER)"
		log "provider: SKIPPED, $RODP_PROVIDER not built"
		return
	fi
	mkdir -p "$keep"
	cp "$d"/*.driver "$keep"/ 2>/dev/null
	mount -t tmpfs -o mode=755 tmpfs "$d" ||
		setup_failed "cannot mount tmpfs on $d"
	cp "$keep"/*.driver "$d"/ 2>/dev/null
	rm -rf "$keep"
	# libibverbs appends its own -rdmavNN.so.
	printf 'driver %s\n' "${RODP_PROVIDER%-rdmav*.so}" >"$d/rodp.driver"
	log "provider: $d/rodp.driver -> ${RODP_PROVIDER%-rdmav*.so}"
}

run_command()
{
	local rc left

	left=$((RODP_VM_DEADLINE - $(date +%s)))
	[ $left -ge 5 ] || left=5
	timeout -k 5 $left bash "$RUN/cmd.sh" </dev/null \
		>>"$RUN/stdout" 2>>"$RUN/stderr"
	rc=$?
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		log "command timed out after ${left}s"
	fi
	printf '%s\n' "$rc" >"$RUN/status"
}

main()
{
	log "guest up: kernel $KVER${RODP_VM_DISTRO:+, $RODP_VM_DISTRO root}," \
	    "uptime $(cut -d' ' -f1 /proc/uptime) s"
	# Report tasks stuck in D state well before the host's timeout.
	sysctl -q -w kernel.hung_task_timeout_secs=60
	if [ "$RODP_VM_MODE" != bare ]; then
		load_stack
		load_rodp
		setup_provider
	fi
	if [ "$RODP_VM_MODE" = full ]; then
		bash "$HARNESS/topology.sh" >>"$RUN/harness.log" 2>&1 ||
			setup_failed "topology.sh failed (see harness.log)"
	fi
	log "running the command"
	run_command
	save_dmesg
}

main
