#!/bin/bash
# scripts/debugkernel.sh [--prepare]: make the debug kernel ready, and
# print its version (./rodp vm --kernel debug, ./rodp test --kernel debug).
#
# Debian's own 6.1 source (the linux-source-6.1 package), configured from
# Debian 12's kernel configuration:
#  - cut down to the modules the test guest loads (make localmodconfig
#    with scripts/debug-kernel/modules and what they depend on), so that it
#    builds on this two-core machine;
#  - with scripts/debug-kernel/debug.config merged over it: lockdep,
#    KASAN, kmemleak, debug objects, DEBUG_LIST, UBSAN, PROVE_RCU; no
#    debug info, no module signatures.
# The build lives outside the work tree, in $RODP_CACHE (default
# /var/cache/rodp) under debug-6.1/<key>, where the key hashes the source
# version, the base configuration and both files above (change the key's
# inputs when the way it is built changes): a fresh clone
# finds it there and does not build again.  The installed tree (boot/,
# lib/modules/) is copied into build/deps/KVER/root like the other
# kernels', and its headers (for rodp.ko) are the build folder itself.
# The build's time goes to the key's build-time file.
#
# --prepare only configures (and checks the configuration), no build.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

prepare_only=0
[ "${1:-}" = --prepare ] && prepare_only=1
here=$RODP_ROOT/scripts/debug-kernel
cache=${RODP_CACHE:-/var/cache/rodp}/debug-6.1
tarball=/usr/src/linux-source-6.1.tar.xz
base=$(rodp_kroot "$(rodp_kver)")/boot/config-$(rodp_kver)

[ -n "$(rodp_kver)" ] || "$RODP_ROOT/scripts/setup.sh" >&2
# What building a kernel needs beyond ./rodp setup's packages (flex,
# bison, bc and libelf-dev are there already): only for this kernel.
rodp_apt_install "debug kernel packages" linux-source-6.1 libssl-dev xz-utils
[ -f "$tarball" ] || die "$tarball missing (package linux-source-6.1)"
[ -f "$base" ] || die "no Debian configuration at $base: ./rodp setup"

srcver=$(dpkg-query -W -f '${Version}' linux-source-6.1)
key=$(cat <(echo "$srcver") "$base" "$here/debug.config" "$here/modules" |
	sha256sum | cut -c1-16)
src=$cache/src-$srcver/linux-source-6.1
obj=$cache/$key/obj
inst=$cache/$key/install

# The source, unpacked once per source package version.
if [ ! -f "$src/.complete" ]; then
	msg "debug kernel: unpacking $tarball (linux-source-6.1 $srcver)"
	rm -rf "$cache/src-$srcver"
	mkdir -p "$cache/src-$srcver"
	tar -C "$cache/src-$srcver" -xJf "$tarball"
	touch "$src/.complete"
fi

# The modules to keep, in the form localmodconfig reads (lsmod's).
lsmod_file()
{
	local kv
	kv=$(rodp_kver)
	echo "Module Size Used by"
	# shellcheck disable=SC2046 # one name per word
	modprobe -d "$(rodp_kroot "$kv")" -S "$kv" -a --show-depends \
		$(grep -v '^#' "$here/modules") |
		awk '$1 == "insmod" { print $2 }' | xargs -n1 basename |
		sed 's/\.ko.*//; s/-/_/g' | sort -u | awk '{ print $1, 0, 0 }'
}

configure()
{
	local o
	rm -rf "$obj"
	mkdir -p "$obj"
	cp "$base" "$obj/.config"
	lsmod_file >"$cache/$key/lsmod"
	(yes '' || true) | make -s -C "$src" O="$obj" LSMOD="$cache/$key/lsmod" \
		localmodconfig >"$cache/$key/config.log" 2>&1 ||
		die "localmodconfig failed: $cache/$key/config.log"
	"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" \
		"$here/debug.config" >>"$cache/$key/config.log" 2>&1 ||
		die "merge_config failed: $cache/$key/config.log"
	make -s -C "$src" O="$obj" olddefconfig \
		>>"$cache/$key/config.log" 2>&1 ||
		die "olddefconfig failed: $cache/$key/config.log"
	# What the fragment asks for must have survived olddefconfig.
	for o in $(sed -n 's/^\(CONFIG_[A-Z0-9_]*\)=.*/\1/p' \
		   "$here/debug.config"); do
		grep -q "^$o=" "$obj/.config" ||
			die "the debug kernel's $o did not stick (a dependency is missing)"
	done
	touch "$obj/.configured"
}

build()
{
	local t0 t1 kver
	t0=$(date +%s)
	msg "debug kernel: building in $obj (18 min on 2 idle cores; build.log)"
	nice -n 10 make -C "$src" O="$obj" -j"$(nproc)" bzImage modules \
		>"$cache/$key/build.log" 2>&1 ||
		die "the debug kernel's build failed: $cache/$key/build.log"
	kver=$(make -s -C "$src" O="$obj" kernelrelease)
	rm -rf "$inst"
	mkdir -p "$inst/root/boot"
	make -s -C "$src" O="$obj" INSTALL_MOD_PATH="$inst/root" \
		INSTALL_MOD_STRIP=1 DEPMOD=/bin/true modules_install \
		>>"$cache/$key/build.log" 2>&1 || die "modules_install failed"
	cp "$obj/arch/x86/boot/bzImage" "$inst/root/boot/vmlinuz-$kver"
	cp "$obj/System.map" "$inst/root/boot/System.map-$kver"
	cp "$obj/.config" "$inst/root/boot/config-$kver"
	t1=$(date +%s)
	echo "$((t1 - t0)) s on $(nproc) cores, $(date -u +%F)" \
		>"$cache/$key/build-time"
	echo "$kver" >"$cache/$key/kver"
	msg "debug kernel $kver built in $((t1 - t0)) s"
}

# Copy the installed tree into build/deps/KVER, the layout vm.sh and
# build-kmod.sh know; the headers are the build folder.
install_deps()
{
	local kver dest tmp
	kver=$(cat "$cache/$key/kver")
	dest=$RODP_DEPS/$kver
	if [ -f "$dest/.complete" ] && [ "$(cat "$dest/key" 2>/dev/null)" = "$key" ]; then
		echo "$kver"
		return
	fi
	tmp=$RODP_DEPS/.$kver.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp"
	cp -a "$inst/root" "$tmp/root"
	rm -f "$tmp/root/lib/modules/$kver/build" \
		"$tmp/root/lib/modules/$kver/source"
	mkdir -p "$tmp/root/usr/src"
	ln -s "$obj" "$tmp/root/usr/src/linux-headers-$kver"
	echo bookworm >"$tmp/suite"
	echo "$key" >"$tmp/key"
	depmod -b "$tmp/root" "$kver"
	rm -rf "$dest"
	mv "$tmp" "$dest"
	touch "$dest/.complete"
	echo "$kver"
}

mkdir -p "$cache/$key"
[ -f "$obj/.configured" ] || configure
[ $prepare_only -eq 0 ] || { msg "debug kernel configured in $obj"; exit 0; }
[ -f "$cache/$key/kver" ] || build
install_deps
