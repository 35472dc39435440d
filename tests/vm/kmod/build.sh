#!/bin/sh
# build.sh KDIR SRC_DIR BUILD_DIR: build rodp_ktest.ko out of tree, as
# kmod/kbuild.sh builds rodp.ko (Kbuild wants the sources under M=).
set -eu
kdir=$1 src=$2 out=$3

mkdir -p "$out"
find "$out" -maxdepth 1 -type l -delete
for f in "$src"/*.c "$src"/Kbuild; do
	ln -sf "$f" "$out/"
done
unset MAKEFLAGS MFLAGS MAKELEVEL
exec make -j2 -C "$kdir" M="$out" W=1 modules
