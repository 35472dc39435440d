#!/bin/bash
# scripts/distro.sh NAME: make the Debian root of distribution NAME
# (bookworm, trixie, sid) ready for the test guest, build rodp's provider
# against its libibverbs, and print the root's path.
#
#  - build/deps/root-NAME: `debootstrap --variant=minbase` from Debian's
#    archive with that distribution's rdma-core, ibverbs-utils,
#    ibverbs-providers, rdmacm-utils, perftest, python3-pyverbs (its
#    tests for the conformance suite), nvme-cli, nftables, iproute2, the
#    tools the suites use, and a compiler with libibverbs-dev.  Made once (a stamp
#    names the package list); nothing from the host goes in.
#  - build/distro/NAME/provider/librodp-rdmav<ABI>.so: the provider,
#    configured and built inside that root (cmake -DRODP_PROVIDER_ONLY=ON,
#    the repository bound at its own path), so that it is checked against,
#    and linked with, the distribution's own libibverbs and private ABI.
#
# `./rodp vm --distro NAME` boots a guest on that root; the test programs
# built on the host run there unchanged (they use only libibverbs' public
# ABI, libcmocka and libc).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

name=${1:?usage: distro.sh bookworm|trixie|sid}
case $name in
bookworm|trixie|sid) ;;
*) die "unknown distribution '$name' (bookworm, trixie, sid)" ;;
esac

# What the guest needs from the distribution: its RDMA user space, the
# suites' tools, and what builds the provider.
PACKAGES=(
	rdma-core ibverbs-utils ibverbs-providers rdmacm-utils perftest
	python3-pyverbs nvme-cli nftables libcmocka0
	iproute2 kmod procps psmisc util-linux iputils-ping tcpdump strace
	python3 bc gawk ethtool
	gcc libc6-dev make cmake pkg-config libibverbs-dev
)

root=$RODP_DEPS/root-$name
out=$RODP_BUILD/distro/$name

make_root()
{
	local stamp tmp
	stamp=$(printf '%s\n' "$name" "${PACKAGES[@]}" | sha256sum | cut -c1-16)
	if [ -f "$root/.complete" ] &&
	   [ "$(cat "$root/.complete")" = "$stamp" ]; then
		return
	fi
	msg "distro: debootstrap $name into build/deps/root-$name"
	tmp=$RODP_DEPS/.root-$name.tmp
	rm -rf "$root"
	rodp_debootstrap "$name" "$tmp" "${PACKAGES[@]}"
	# Packages only: no downloaded archives, no apt lists.
	rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*_*
	mv "$tmp" "$root"
	printf '%s\n' "$stamp" >"$root/.complete"
}

# The provider, built in the root with the repository at its own path.
build_provider()
{
	local repo
	repo=$(readlink -f "$RODP_ROOT")
	mkdir -p "$out"
	export root repo out
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare -m bash -c '
		set -eu
		mkdir -p "$root$repo"
		mount --bind "$repo" "$root$repo"
		mount -t proc proc "$root/proc"
		chroot "$root" /bin/sh -c "
			cmake -S \"$repo\" -B \"$out\" -DRODP_PROVIDER_ONLY=ON \
				-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
			cmake --build \"$out\" -j2"
	' >"$out/build.log" 2>&1 || {
		cat "$out/build.log" >&2
		die "building the provider in the $name root failed"
	}
	compgen -G "$out/provider/librodp-rdmav*.so" >/dev/null ||
		die "no provider in $out/provider"
	# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
	msg "distro: $name provider $(basename "$(compgen -G \
		"$out/provider/librodp-rdmav*.so" | head -n 1)")," \
		"rdma-core $(chroot "$root" dpkg-query -W -f='${Version}' \
		libibverbs1)"
}

mkdir -p "$RODP_DEPS"
rodp_locked "$RODP_DEPS/.root-$name.lock" make_root
rodp_locked "$RODP_DEPS/.root-$name.lock" build_provider
echo "$root"
