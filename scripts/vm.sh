#!/bin/bash
# scripts/vm.sh [options] -- CMD...: run CMD in a fresh QEMU guest.
#
# The guest boots the Debian kernel unpacked by setup.sh with a busybox
# initramfs (tests/vm/harness/init), shares the host's root (or another
# Debian root: --root, --distro) read-only over 9p and a results folder
# (build/vm/runs/<id>/) read-write, chroots into that root, loads the RDMA
# stack and rodp, builds the default topology
# (tests/vm/harness/topology.sh) and runs CMD in the caller's working
# directory (tests/vm/harness/guest.sh).  CMD's output streams to
# this terminal; the console log, the kernel log and the command's output
# stay in the results folder.
#
# Exit status: CMD's status, or
#   121  the guest's kernel log shows a problem (oops, WARNING, ...)
#   122  the guest died before CMD finished (panic, crash)
#   124  timeout: CMD or the guest did not finish in time
#   125  the test bed failed (no boot twice, stack or topology set-up)
set -eu
. "$(dirname "$0")/lib.sh"

usage()
{
	cat <<'EOF'
usage: ./rodp vm [options] -- CMD [ARG...]
  --kernel K       boot kernel K: 6.1 (default), 6.12, newest or a version
  --distro NAME    the guest's root is a debootstrapped Debian NAME
                   (bookworm, trixie, sid; scripts/distro.sh) with its own
                   rdma-core, perftest and iproute2, and the provider built
                   against its libibverbs
  --root DIR       the guest's root is DIR instead of the host's /
  --overlay        the root is writable (a tmpfs overlay, gone at poweroff)
  --bare           load nothing and build no topology: just run CMD
  --no-topology    load the stack, rodp and the provider, but no topology
  --smp N          vCPUs (default 2)
  --qemu-arg ARG   one more QEMU argument (repeatable)
  --timeout S      kill the guest after S seconds (default 600)
  --need-rodp      fail unless rodp.ko and the provider are built and load
  --no-rodp        do not load rodp.ko
  --run-dir DIR    keep the run's files in DIR (default build/vm/runs/<id>)
  --quiet          do not stream CMD's output (it stays in the run folder)
Environment: RODP_VM_BOOT_TIMEOUT (s, default 120) bounds each boot up to
init; RODP_VM_ACCEL (default tcg,thread=multi); RODP_* variables are passed
into the guest.
EOF
	exit 2
}

kver=
timeout=600
rodp=auto
rundir=
quiet=0
root=/
distro=
overlay=0
mode=full
smp=2
qemu_extra=()
while [ $# -gt 0 ]; do
	case $1 in
	--kernel)	kver=${2:?}; shift 2 ;;
	--distro)	distro=${2:?}; shift 2 ;;
	--root)		root=${2:?}; shift 2 ;;
	--overlay)	overlay=1; shift ;;
	--bare)		mode=bare; shift ;;
	--no-topology)	mode=notopo; shift ;;
	--smp)		smp=${2:?}; shift 2 ;;
	--qemu-arg)	qemu_extra+=("${2?}"); shift 2 ;;
	--timeout)	timeout=${2:?}; shift 2 ;;
	--need-rodp)	rodp=need; shift ;;
	--no-rodp)	rodp=no; shift ;;
	--run-dir)	rundir=${2:?}; shift 2 ;;
	--quiet)	quiet=1; shift ;;
	--)		shift; break ;;
	-h|--help)	usage ;;
	*)		msg "vm: unknown option $1"; usage ;;
	esac
done
[ $# -gt 0 ] || usage
case $timeout in
''|*[!0-9]*) die "--timeout wants seconds, not '$timeout'" ;;
esac
case $smp in
''|*[!0-9]*|0) die "--smp wants a number of vCPUs, not '$smp'" ;;
esac
# A distribution's root, made (once) by scripts/distro.sh, which also
# builds the provider against that distribution's libibverbs.
if [ -n "$distro" ]; then
	[ "$root" = / ] || die "--distro and --root exclude each other"
	root=$("$RODP_ROOT/scripts/distro.sh" "$distro") || exit 125
fi
root=$(cd "$root" 2>/dev/null && pwd) || die "--root: no folder $root"
if [ "$root" != / ]; then
	[ -x "$root/bin/bash" ] || [ -x "$root/usr/bin/bash" ] ||
		die "--root $root: not a Debian root (no bash)"
	# The repository is mounted at its own path inside the root.
	[ -d "$root$RODP_ROOT" ] || mkdir -p "$root$RODP_ROOT" ||
		die "cannot make $RODP_ROOT inside $root"
fi

boot_timeout=${RODP_VM_BOOT_TIMEOUT:-120}
accel=${RODP_VM_ACCEL:-tcg,thread=multi}
# A short name (6.1, 6.12, newest) or another release's kernel: fetched
# if need be, rodp's modules built for it (rodp_kernel_ready()).
if [ -n "$kver" ] && [ "$kver" != "$(rodp_kver)" ]; then
	kver=$(rodp_kernel_ready "$kver" "$rodp") || exit 125
fi
kver=${kver:-$(rodp_kver)}
[ -n "$kver" ] || die "no test kernel: run ./rodp setup"
kroot=$(rodp_kroot "$kver")
vmlinuz=$kroot/boot/vmlinuz-$kver
[ -f "$RODP_DEPS/$kver/.complete" ] && [ -f "$vmlinuz" ] ||
	die "kernel $kver is not unpacked in build/deps: run ./rodp setup"
if [ $rodp = need ]; then
	ko=$RODP_CMAKE/kmod/kbuild/rodp.ko
	[ "$kver" = "$(rodp_kver)" ] || ko=$RODP_BUILD/kmod/$kver/rodp/rodp.ko
	prov=$RODP_CMAKE/provider/librodp-rdmav34.so
	if [ -n "$distro" ]; then
		prov=$(compgen -G \
			"$RODP_BUILD/distro/$distro/provider/librodp-rdmav*.so" |
			head -n 1)
		prov=${prov:-$RODP_BUILD/distro/$distro/provider}
	fi
	for f in "$ko" "$prov"; do
		if [ ! -f "$f" ]; then
			msg "vm: $f not built (--need-rodp)"
			exit 125
		fi
	done
fi

rodp_locked "$RODP_VMDIR/.lock" "$RODP_ROOT/scripts/mkinitramfs.sh" "$kver"
initrd=$RODP_VMDIR/initramfs-$kver.cpio

# The results folder: a fresh one per run, the oldest pruned.
if [ -z "$rundir" ]; then
	mkdir -p "$RODP_VMDIR/runs"
	find "$RODP_VMDIR/runs" -mindepth 1 -maxdepth 1 -type d |
		sort | head -n -100 | xargs -r rm -rf
	rundir=$RODP_VMDIR/runs/$(date +%Y%m%d-%H%M%S)-$$
fi
mkdir -p "$rundir"
rundir=$(cd "$rundir" && pwd)
[ -z "$(ls -A "$rundir")" ] || die "run folder $rundir is not empty"

# The command, in the caller's directory when the guest can see it (the
# guest has its own /tmp and /run).
{
	printf 'if ! cd %q 2>/dev/null; then\n' "$PWD"
	printf '\techo "rodp vm: %q is not visible in the guest," \\\n' "$PWD"
	printf '\t\t"running in /" >&2\n\tcd /\nfi\n'
	printf 'exec'
	printf ' %q' "$@"
	printf '\n'
} >"$rundir/cmd.sh"
# The guest's settings, per boot: the command must end by the deadline
# (host clock; the guest's comes from the same RTC), leaving the guest
# time to save its kernel log before the host kills it.
write_env()
{
	local margin=20 var

	[ "$timeout" -ge 60 ] || margin=$((timeout / 3))
	{
		while read -r var; do
			printf 'export %s=%q\n' "$var" "${!var}"
		done < <(compgen -e | grep '^RODP_' | grep -v '^RODP_VM_')
		printf 'RODP_VM_RODP=%s\n' $rodp
		printf 'RODP_VM_MODE=%s\n' $mode
		printf 'RODP_VM_DISTRO=%s\n' "$distro"
		printf 'RODP_VM_DEADLINE=%s\n' \
			$(($(date +%s) + timeout - margin))
	} >"$rundir/env"
}
touch "$rundir/stdout" "$rundir/stderr" "$rundir/harness.log"

qpid=
tails=()
cleanup()
{
	[ -z "$qpid" ] || kill "$qpid" 2>/dev/null || true
	[ ${#tails[@]} -eq 0 ] || kill "${tails[@]}" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# boot: run one guest; sets booted, timed_out, boot_s and run_s.
boot()
{
	local console=$rundir/console.log start now
	local share=security_model=none,multidevs=remap
	# tsc=reliable: under TCG the guest's TSC watchdog sees skew
	# between vCPUs and the clocks perftest calibrates drift; with
	# it, perftest's own clock check passes instead of failing 1 in 3.
	local cmdline="console=ttyS0 panic=-1 log_buf_len=4M tsc=reliable"

	local shares=()

	# KASAN reports only its first finding without kasan_multi_shot:
	# one report (rxe's, say) would hide every later one (rodp's).
	! grep -qx 'CONFIG_KASAN=y' "$kroot/boot/config-$kver" 2>/dev/null ||
		cmdline+=" kasan_multi_shot"
	cmdline+=" rodp_run=$rundir"
	cmdline+=" rodp_repo=$RODP_ROOT"
	[ $overlay = 0 ] || cmdline+=" rodp_overlay=1"
	if [ "$root" != / ]; then
		cmdline+=" rodp_reposhare=1"
		shares=(-virtfs
			"local,path=$RODP_ROOT,mount_tag=repo,$share,readonly=on")
	fi

	: >"$console"
	write_env
	qemu-system-x86_64 -nodefaults -no-user-config -no-reboot \
		-accel "$accel" -cpu max -smp "$smp" -m 2G \
		-display none -monitor none -serial "file:$console" \
		-kernel "$vmlinuz" -initrd "$initrd" \
		-append "$cmdline" \
		-virtfs "local,path=$root,mount_tag=hostroot,$share,readonly=on" \
		"${shares[@]}" \
		-virtfs "local,path=$rundir,mount_tag=results,$share" \
		"${qemu_extra[@]}" \
		</dev/null >>"$rundir/qemu.log" 2>&1 &
	qpid=$!
	tails=()
	if [ $quiet = 0 ]; then
		tail -q -n +1 -s 0.3 -f --pid=$qpid "$rundir/harness.log" \
			"$rundir/stderr" >&2 &
		tails+=($!)
		tail -n +1 -s 0.3 -f --pid=$qpid "$rundir/stdout" &
		tails+=($!)
	fi

	start=$SECONDS
	booted=0
	timed_out=0
	while kill -0 $qpid 2>/dev/null; do
		now=$((SECONDS - start))
		if [ $booted = 0 ] && grep -q '^RODP-VM-INIT' "$console"; then
			booted=1
			boot_s=$now
		fi
		if [ $booted = 0 ] && [ $now -ge "$boot_timeout" ]; then
			msg "vm: no init after ${boot_timeout}s, killing it"
			kill $qpid 2>/dev/null || true
			break
		fi
		if [ $now -ge "$timeout" ]; then
			msg "vm: timeout after ${timeout}s, killing the guest"
			timed_out=1
			kill $qpid 2>/dev/null || true
			break
		fi
		sleep 0.5
	done
	wait $qpid || true
	qpid=
	if [ ${#tails[@]} -gt 0 ]; then
		wait "${tails[@]}" || true
	fi
	tails=()
	run_s=$((SECONDS - start))
	if [ $booted = 0 ] && grep -q '^RODP-VM-INIT' "$console"; then
		booted=1
		boot_s=$run_s
	fi
}

msg "vm: kernel $kver${distro:+, $distro root}, run folder $rundir"
boot
if [ $booted = 0 ]; then
	mv "$rundir/console.log" "$rundir/console.attempt1.log"
	msg "vm: the guest never reached init (console.attempt1.log)," \
		"retrying once"
	boot
fi

# The verdict.
rc=0
why=
logcheck=$RODP_ROOT/tests/vm/logcheck/logcheck.py
logs=("$rundir/console.log")
[ ! -f "$rundir/dmesg.txt" ] || logs=("$rundir/dmesg.txt" "${logs[@]}")
if ! python3 "$logcheck" "${logs[@]}" >"$rundir/logcheck.txt" 2>&1; then
	cat "$rundir/logcheck.txt" >&2
	rc=121
	why="the guest's kernel log shows problems (logcheck.txt)"
fi
if [ -f "$rundir/status" ]; then
	status=$(cat "$rundir/status")
	[ $rc -ne 0 ] || rc=$status
	[ "$status" != 124 ] || why=${why:-"the command timed out in the guest"}
else
	rc=122
	why="the guest stopped before the command finished (console.log)"
fi
if [ $timed_out = 1 ]; then
	rc=124
	why="timeout after ${timeout}s"
fi
if [ $booted = 0 ]; then
	rc=125
	why="test bed failure: the guest never reached init, twice"
elif grep -q '^RODP-VM-INFRA' "$rundir/console.log"; then
	rc=125
	why=$(grep -m1 '^RODP-VM-INFRA' "$rundir/console.log")
	why="test bed failure: ${why#RODP-VM-INFRA: }"
elif [ -f "$rundir/setup-error" ]; then
	rc=125
	why="guest set-up failed: $(cat "$rundir/setup-error")"
fi

printf 'boot_s=%s\nrun_s=%s\nrc=%s\n' "${boot_s:-}" "$run_s" "$rc" \
	>"$rundir/result"
printf 'exit %s%s\n' "$rc" "${why:+ ($why)}" >"$rundir/verdict"
msg "vm: exit $rc${why:+ ($why)}; init after ${boot_s:-?}s," \
	"run ${run_s}s; logs in $rundir"
exit $rc
