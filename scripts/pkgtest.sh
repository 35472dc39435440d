#!/bin/bash
# scripts/pkgtest.sh DISTRO [--run-dir DIR | --prepare]: the package test for Debian
# DISTRO (bookworm on kernel 6.1, trixie on 6.12):
#
#  1. ./rodp package --distro DISTRO (build/pkg/DISTRO/*.deb);
#  2. the test root build/deps/pkgroot-DISTRO (scripts/pkgroot.sh: made
#     once, with the kernel the guest boots and its headers installed);
#  3. one guest on that kernel with that root under a throw-away overlay,
#     nothing of rodp loaded (--bare), running tests/pkg/pkgtest.sh:
#     apt install, DKMS, the devices, ibv_devinfo, ib_write_bw --odp,
#     rodp@.service, apt purge, no file left.
#
# Leaves in the run folder (default build/vm/runs/<id>-pkg-DISTRO) what
# scripts/test.sh counts as one suite "pkg-DISTRO": suites/pkg-DISTRO.out
# (the TAP), .status, and dmesg-split/pkg-DISTRO.dmesg (the guest's
# kernel log).  Exit status: vm.sh's (0 when every case passed).
# --prepare: steps 1 and 2 only (scripts/test.sh runs them while another
# guest runs).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

distro=${1:?usage: pkgtest.sh bookworm|trixie [--run-dir DIR]}
shift
dir=
prepare=0
while [ $# -gt 0 ]; do
	case $1 in
	--run-dir) dir=${2:?}; shift 2 ;;
	--prepare) prepare=1; shift ;;
	*) die "pkgtest: unknown option $1" ;;
	esac
done
case $distro in
bookworm) kernel=6.1 ;;
trixie) kernel=6.12 ;;
*) die "pkgtest: no package test for '$distro' (bookworm, trixie)" ;;
esac
name=pkg-$distro
if [ -z "$dir" ]; then
	mkdir -p "$RODP_VMDIR/runs"
	dir=$RODP_VMDIR/runs/$(date +%Y%m%d-%H%M%S)-$$-$name
fi

kver=$("$RODP_ROOT/scripts/kernels.sh" "$kernel")
"$RODP_ROOT/scripts/package.sh" --distro "$distro" >/dev/null
root=$("$RODP_ROOT/scripts/pkgroot.sh" "$distro" "$kver")
[ $prepare = 0 ] || exit 0

start=$SECONDS
rc=0
"$RODP_ROOT/scripts/vm.sh" --root "$root" --overlay --bare --no-rodp \
	--kernel "$kernel" --timeout "${RODP_PKGTEST_TIMEOUT:-1800}" \
	--run-dir "$dir" -- \
	"$RODP_ROOT/tests/pkg/pkgtest.sh" "$RODP_BUILD/pkg/$distro" || rc=$?
msg "pkgtest: $distro on $kver: guest exit $rc after $((SECONDS - start))s"

mkdir -p "$dir/suites" "$dir/dmesg-split"
cp "$dir/stdout" "$dir/suites/$name.out" 2>/dev/null || true
cat "$dir/status" >"$dir/suites/$name.status" 2>/dev/null ||
	echo "$rc" >"$dir/suites/$name.status"
if [ -f "$dir/dmesg.txt" ]; then
	cp "$dir/dmesg.txt" "$dir/dmesg-split/$name.dmesg"
fi
exit $rc
