#!/bin/bash
# scripts/pkgroot.sh DISTRO KVER: make the root the package test boots
# (tests/pkg/pkgtest.sh) and print its path: build/deps/pkgroot-DISTRO,
# a fresh `debootstrap --variant=minbase` of Debian DISTRO with what a
# real machine that runs rodp has (dkms, build-essential, rdma-core,
# ibverbs-utils, perftest, iproute2, kmod, systemd) and the kernel KVER
# the guest boots installed from its own packages (build/deps/debs:
# image, headers, kbuild; apt fetches the rest, e.g. the compiler the
# headers want), so that /lib/modules/KVER holds its modules and `build`
# points at its headers.  Nothing from rodp's build tree goes in.  Made
# once per machine (a stamp names the package list and the kernel);
# `./rodp vm --root ... --overlay` boots it with a throw-away overlay.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

distro=${1:?usage: pkgroot.sh DISTRO KVER}
kver=${2:?usage: pkgroot.sh DISTRO KVER}
PACKAGES=(dkms build-essential rdma-core ibverbs-utils ibverbs-providers
	  perftest iproute2 kmod systemd procps)
root=$RODP_DEPS/pkgroot-$distro
debs=$RODP_DEPS/debs

make_root()
{
	local stamp tmp d kdebs=()
	stamp=$(printf '%s\n' "$distro" "$kver" "${PACKAGES[@]}" |
		sha256sum | cut -c1-16)
	if [ -f "$root/.complete" ] &&
	   [ "$(cat "$root/.complete")" = "$stamp" ]; then
		return
	fi
	# The image, the headers, their -common and the kbuild package the
	# headers depend on.
	for d in "$debs"/linux-image-"$kver"_*.deb \
		 "$debs"/linux-headers-"$kver"_*.deb \
		 "$debs"/linux-headers-"${kver%-amd64}"-common_*.deb; do
		[ -f "$d" ] || die "pkgroot: no kernel packages for $kver in $debs"
		kdebs+=("$(basename "$d")")
	done
	d=$(dpkg-deb -f "$debs/${kdebs[1]}" Depends | tr ',' '\n' |
		sed -n 's/^ *\(linux-kbuild-[^ ]*\).*/\1/p')
	d=$(compgen -G "$debs/${d}_*.deb" | head -n 1) ||
		die "pkgroot: no kbuild package for $kver in $debs"
	kdebs+=("$(basename "$d")")
	msg "pkgroot: debootstrap $distro with kernel $kver into build/deps/pkgroot-$distro"
	tmp=$RODP_DEPS/.pkgroot-$distro.tmp
	rm -rf "$root"
	rodp_debootstrap "$distro" "$tmp" "${PACKAGES[@]}"
	mkdir -p "$tmp/tmp/kdebs"
	for d in "${kdebs[@]}"; do
		cp "$debs/$d" "$tmp/tmp/kdebs/"
	done
	export tmp
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare -m bash -c '
		set -eu
		mount -t proc proc "$tmp/proc"
		chroot "$tmp" /bin/sh -c "
			export DEBIAN_FRONTEND=noninteractive
			# No initramfs (the guest boots the test bed one):
			# update-initramfs diverted to true for the install.
			dpkg-divert --quiet --local --rename \
				--add /usr/sbin/update-initramfs &&
			ln -s /bin/true /usr/sbin/update-initramfs &&
			apt-get -q update &&
			apt-get -q -y --no-install-recommends install /tmp/kdebs/*.deb &&
			apt-get clean &&
			rm /usr/sbin/update-initramfs &&
			dpkg-divert --quiet --local --rename \
				--remove /usr/sbin/update-initramfs"' >&2 ||
		die "pkgroot: installing kernel $kver in the $distro root failed"
	# (build is an absolute link in some releases: look from inside)
	chroot "$tmp" test -d "/lib/modules/$kver/kernel" \
		-a -e "/lib/modules/$kver/build/Makefile" ||
		die "pkgroot: kernel $kver or its headers missing in the root"
	# Packages only: no downloaded archives, apt lists or initramfs
	# (the guest boots the test bed's own).
	rm -rf "$tmp"/tmp/kdebs "$tmp"/var/cache/apt/archives/*.deb \
		"$tmp"/var/lib/apt/lists/*_* "$tmp"/boot/initrd.img-*
	mv "$tmp" "$root"
	printf '%s\n' "$stamp" >"$root/.complete"
}

mkdir -p "$RODP_DEPS"
rodp_locked "$RODP_DEPS/.pkgroot-$distro.lock" make_root
echo "$root"
