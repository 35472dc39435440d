#!/bin/sh
# kcheck.sh CHECK KDIR KMOD_SRC LIB_SRC SCRATCH: a static check of the
# module's sources, for ctest.  CHECK is
#   sparse      build rodp.ko in SCRATCH (emptied first) with sparse run
#               over every source file (C=2); any sparse diagnostic fails
#   kernel-doc  the kernel's scripts/kernel-doc over kmod/*.c and *.h;
#               any diagnostic fails
# A check that cannot run (no kernel headers at KDIR, no sparse) fails
# too: a check that did not run did not pass.
set -eu
check=$1 kdir=$2 src=$3 lib=$4 out=$5

die()
{
	echo "kcheck.sh $check: $*" >&2
	exit 1
}

[ -f "$kdir/Makefile" ] ||
	die "no kernel headers at '$kdir' (./rodp setup, then configure with -DRODP_KDIR)"
rm -rf "$out"
mkdir -p "$out"
log=$out/log

case $check in
sparse)
	command -v sparse >/dev/null ||
		die "sparse is not installed (./rodp setup installs it)"
	if ! "$src/kbuild.sh" "$kdir" "$src" "$lib" "$out/kbuild" y \
			C=2 CHECK=sparse >"$log" 2>&1; then
		cat "$log"
		die "the build failed"
	fi
	# Every source file must have been checked.
	grep -q '^  CHECK ' "$log" || { cat "$log"; die "sparse did not run"; }
	if grep -E ': (warning|error):' "$log"; then
		die "sparse has something to say (above)"
	fi
	;;
kernel-doc)
	[ -f "$kdir/scripts/kernel-doc" ] ||
		die "no scripts/kernel-doc in '$kdir'"
	perl "$kdir/scripts/kernel-doc" -none "$src"/*.c "$src"/*.h \
		>"$log" 2>&1 || true
	if [ -s "$log" ]; then
		cat "$log"
		die "kernel-doc has something to say (above)"
	fi
	;;
*)
	die "unknown check (sparse or kernel-doc)"
	;;
esac
echo "kcheck.sh $check: clean"
