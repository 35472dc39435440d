#!/bin/bash
# scripts/build.sh: configure and build everything in build/cmake, the
# module against the headers of the kernel setup.sh unpacked.
set -eu
. "$(dirname "$0")/lib.sh"

kver=$(rodp_kver)
[ -n "$kver" ] || die "no test kernel: run ./rodp setup"
kdir=$(rodp_kdir "$kver")
[ -f "$kdir/Makefile" ] || die "$kdir missing: run ./rodp setup"

cmake -S "$RODP_ROOT" -B "$RODP_CMAKE" -DRODP_KDIR="$kdir"
cmake --build "$RODP_CMAKE" -j2
