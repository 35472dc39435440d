#!/bin/sh
# kbuild.sh KDIR KMOD_SRC LIB_SRC BUILD_DIR [INJECT [MAKE_ARG...]]: build
# rodp.ko out of tree; INJECT "y" compiles in the fault-injection points
# the test suites use (kmod/rodp_inject.c).  MAKE_ARGs go to make as they
# are (kcheck.sh passes C=2 CHECK=sparse).
# Kbuild wants the sources under M=, so BUILD_DIR gets symlinks to them.
set -eu
kdir=$1 src=$2 lib=$3 out=$4 inject=${5:-}
shift $(($# < 5 ? $# : 5))

mkdir -p "$out/lib"
find "$out" -maxdepth 2 -type l -delete
for f in "$src"/*.c "$src"/*.h "$src"/Kbuild; do
	[ -e "$f" ] && ln -sf "$f" "$out/"
done
for f in "$lib"/src/*.c; do
	[ -e "$f" ] && ln -sf "$f" "$out/lib/"
done
# Run as a plain child of CMake's make: no inherited jobserver.
unset MAKEFLAGS MFLAGS MAKELEVEL
exec make -j2 -C "$kdir" M="$out" RODP_SRC="$src" RODP_LIB="$lib" \
	RODP_INJECT="$inject" W=1 "$@" modules
