#!/bin/bash
# scripts/build-kmod.sh KVER: build rodp.ko (with the test-suite injection
# points, as ./rodp build does) and tests/vm/kmod/rodp_ktest.ko for the
# unpacked kernel KVER into build/kmod/KVER/{rodp,ktest}.  A kernel of
# another Debian release (build/deps/KVER/suite) is built inside that
# release's toolchain root (scripts/kernels.sh made it), with the
# repository and the kernel tree bound at their own paths; a bookworm
# kernel with the host's compiler.  The guest loads these modules when it
# boots KVER (tests/vm/harness/guest.sh).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kver=${1:?usage: build-kmod.sh KVER}
kdir=$(rodp_kdir "$kver")
[ -f "$kdir/Makefile" ] || die "kernel $kver not unpacked: ./rodp setup --kernel"
out=$RODP_BUILD/kmod/$kver
suite=$(cat "$RODP_DEPS/$kver/suite" 2>/dev/null || echo bookworm)
mkdir -p "$out"

build()
{
	"$RODP_ROOT/kmod/kbuild.sh" "$kdir" "$RODP_ROOT/kmod" \
		"$RODP_ROOT/lib" "$out/rodp" y
	"$RODP_ROOT/tests/vm/kmod/build.sh" "$kdir" \
		"$RODP_ROOT/tests/vm/kmod" "$out/ktest"
}

if [ "$suite" = bookworm ]; then
	build >"$out/build.log" 2>&1 || {
		cat "$out/build.log" >&2
		die "building the modules for $kver failed"
	}
else
	tc=$(readlink -f "$RODP_DEPS/toolchain-$suite")
	[ -f "$tc/.complete" ] || die "no $suite toolchain: ./rodp setup --kernel"
	root=$(readlink -f "$RODP_ROOT")
	kroot=$(readlink -f "$RODP_DEPS/$kver")
	# The same paths inside: the headers' Makefile names them.
	export root kroot tc kdir out RODP_ROOT
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare -m bash -c '
		set -eu
		for d in "$root" "$kroot"; do
			mkdir -p "$tc$d"
			mount --bind "$d" "$tc$d"
		done
		mount -t proc proc "$tc/proc"
		chroot "$tc" /bin/sh -c "
			\"$RODP_ROOT/kmod/kbuild.sh\" \"$kdir\" \"$RODP_ROOT/kmod\" \
				\"$RODP_ROOT/lib\" \"$out/rodp\" y &&
			\"$RODP_ROOT/tests/vm/kmod/build.sh\" \"$kdir\" \
				\"$RODP_ROOT/tests/vm/kmod\" \"$out/ktest\""
	' >"$out/build.log" 2>&1 || {
		cat "$out/build.log" >&2
		die "building the modules for $kver in the $suite toolchain failed"
	}
fi
# W=1 and -Werror: a warning fails the build; say so if one slipped by.
if grep -q "warning:" "$out/build.log"; then
	grep "warning:" "$out/build.log" >&2
	die "warnings building for $kver"
fi
msg "modules for $kver in build/kmod/$kver"
