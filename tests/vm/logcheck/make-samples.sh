#!/bin/bash
# tests/vm/logcheck/make-samples.sh [KIND...]: regenerate the real kernel
# logs in samples/ that the log checker's tests feed it.
#
# Builds provoke/rodp_provoke.ko against the test kernel's headers (into
# build/vm/provoke), then boots one guest per KIND, loads the module
# (which prints the two expected taint notices) and, except for "clean",
# makes the kernel report trouble; the guest's dmesg becomes
# samples/<category>--provoked-<kind>-<kernel>.log (for clean, a boot
# log).  The lockdep, kasan, ubsan and leak kinds need the debug kernel
# (scripts/debugkernel.sh): `--kernel debug` first boots that (the module
# is built for it).  The *-handwritten samples were written by hand before
# there was a debug kernel.
# Needs ./rodp setup; takes a few minutes; run it by hand, then commit.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../../scripts/lib.sh"

kver=$(rodp_kver)
[ -n "$kver" ] || die "run ./rodp setup first"
kopt=()
if [ "${1:-}" = --kernel ]; then
	kver=$("$RODP_ROOT/scripts/kernels.sh" "${2:?--kernel K}")
	kopt=(--kernel "$kver")
	shift 2
fi
obj=$RODP_VMDIR/provoke/$kver
mkdir -p "$obj"
cp "$here"/provoke/Kbuild "$here"/provoke/*.c "$obj"/
make -s -C "$(rodp_kdir "$kver")" M="$obj" modules
ko=$obj/rodp_provoke.ko
ctl=/sys/kernel/debug/rodp_provoke
rcu_timeout=/sys/module/rcupdate/parameters/rcu_cpu_stall_timeout

# KIND -> "category|shell commands run in the guest after insmod".
declare -A how=(
	[clean]="clean|true"
	[warning]="warning|echo warning >$ctl"
	[bug]="bug|sh -c 'echo bug >$ctl'"
	[oops]="oops|sh -c 'echo oops >$ctl'"
	[gpf]="gpf|sh -c 'echo gpf >$ctl'"
	[softlockup]="soft-lockup|sysctl -w kernel.watchdog_thresh=5 &&
		echo softlockup >$ctl"
	[rcustall]="rcu-stall|echo 3 >$rcu_timeout && echo rcustall >$ctl"
	[hung]="hung-task|sysctl -w kernel.hung_task_timeout_secs=5 &&
		echo hung >$ctl"
	[lockdep]="lockdep|echo lockdep >$ctl"
	[kasan]="kasan|echo kasan >$ctl"
	[ubsan]="ubsan|echo ubsan >$ctl"
	[leak]="kmemleak|echo leak >$ctl && echo scan >/sys/kernel/debug/kmemleak &&
		sleep 6 && echo scan >/sys/kernel/debug/kmemleak"
)

[ $# -gt 0 ] || set -- clean warning bug oops gpf softlockup rcustall hung
for kind in "$@"; do
	[ -n "${how[$kind]:-}" ] || die "unknown kind $kind"
	cat=${how[$kind]%%|*}
	cmd=${how[$kind]#*|}
	run=$RODP_VMDIR/samples/$kind
	rm -rf "$run"
	"$RODP_ROOT/scripts/vm.sh" "${kopt[@]}" --no-rodp --quiet --timeout 300 \
		--run-dir "$run" -- bash -c "insmod $ko && $cmd; sleep 2" ||
		true
	[ -s "$run/dmesg.txt" ] || die "$kind: no dmesg.txt in $run"
	name=$cat--provoked-$kind-$kver.log
	[ "$kind" != clean ] ||
		name=clean--boot-rxe-out-of-tree-module-$kver.log
	cp "$run/dmesg.txt" "$here/samples/$name"
	msg "sample $name"
done
