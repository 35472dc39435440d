#!/bin/bash
# scripts/setup.sh: install what rodp needs to build and test.
#
#  1. Debian packages (apt-get, only when some are missing), without their
#     recommends: PACKAGES names everything the project uses.
#  2. The Debian kernel that linux-image-amd64 depends on, downloaded with
#     `apt-get download` and unpacked with `dpkg -x` under
#     build/deps/<KVER>/root (nothing is installed into the system), with
#     the headers' Makefile pointed at the unpacked -common tree and
#     depmod run.  build/deps/kver names the chosen version.
#
# Idempotent: when everything is present it touches neither apt nor the
# network.  Remove build/deps/kver to pick up a newer Debian kernel.
# pipefail: apt_depends (it can die) feeds pipelines.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Everything the build, the tests and the test bed use.
PACKAGES=(
	# build
	cmake make gcc clang libclang-rt-14-dev pkg-config libcmocka-dev
	libibverbs-dev librdmacm-dev libelf-dev bc flex bison sparse
	# run and test
	rdma-core ibverbs-utils ibverbs-providers rdmacm-utils perftest nvme-cli
	iproute2 kmod procps util-linux tcpdump strace python3 shellcheck
	# a firewall rule that must turn host-local delivery off (suite direct)
	nftables
	# decodes the captures as RoCEv2 (tcpdump shows only UDP)
	tshark
	# rdma-core's own verbs tests (pyverbs), run against rodp and rxe
	python3-pyverbs
	# the QEMU test bed
	qemu-system-x86 busybox-static cpio zstd xz-utils
	# the other releases' kernels, user spaces and package tests live in
	# debootstrapped roots (the keyring checks Debian's archive)
	debootstrap debian-archive-keyring
	# benchmarks
	gnuplot-nox
)

install_packages()
{
	rodp_apt_install packages "${PACKAGES[@]}"
}

# apt-cache's "Depends:" targets of package $1 matching the prefix $2.
# Runs apt-get update once when the package lists do not know $1.
apt_depends()
{
	local out
	if ! out=$(apt-cache depends "$1" 2>/dev/null) ||
	   ! grep -q "Depends: $2" <<<"$out"; then
		if [ -z "${APT_UPDATED:-}" ]; then
			msg "apt lists do not know $1: apt-get update"
			apt-get update -q >&2
			APT_UPDATED=1
		fi
		out=$(apt-cache depends "$1") ||
			die "apt-cache depends $1 failed"
	fi
	sed -n "s/^ *Depends: \($2[^ ]*\).*/\1/p" <<<"$out" | sort -u
}

# The headers' Makefile is one line, `include /usr/src/...-common/Makefile`;
# point it at the unpacked -common tree.  Returns 1 if it was wrong.
fix_headers_makefile()
{
	local root=$1 kver=$2 mk want common
	mk=$root/usr/src/linux-headers-$kver/Makefile
	[ -f "$mk" ] || die "$mk missing"
	common=$(sed -n \
		's|^include .*/usr/src/\(linux-headers-[^/]*\)/Makefile$|\1|p' \
		"$mk" | head -n 1)
	[ -n "$common" ] || die "$mk: unexpected contents: $(cat "$mk")"
	want="include $root/usr/src/$common/Makefile"
	[ -d "$root/usr/src/$common" ] || die "$root/usr/src/$common missing"
	if [ "$(cat "$mk")" = "$want" ]; then
		return 0
	fi
	printf '%s\n' "$want" >"$mk"
	return 1
}

fetch_kernel()
{
	local kver=$1
	local dest=$RODP_DEPS/$kver debs=$RODP_DEPS/debs
	local tmp=$RODP_DEPS/.$kver.tmp pkgs=() p deb

	pkgs+=("linux-image-$kver" "linux-headers-$kver")
	mapfile -t -O 2 pkgs < <(apt_depends "linux-headers-$kver" \
		'linux-\(headers\|kbuild\)-')
	msg "kernel $kver: packages ${pkgs[*]}"

	mkdir -p "$debs"
	for p in "${pkgs[@]}"; do
		if ! compgen -G "$debs/${p}_*.deb" >/dev/null; then
			(cd "$debs" && apt-get download -q \
				-o APT::Sandbox::User=root "$p") ||
				die "apt-get download $p failed"
		fi
	done

	rm -rf "$tmp"
	mkdir -p "$tmp/root"
	for p in "${pkgs[@]}"; do
		deb=$(compgen -G "$debs/${p}_*.deb" | sort -V | tail -n 1)
		msg "unpacking $(basename "$deb")"
		dpkg -x "$deb" "$tmp/root"
	done
	rm -rf "$dest"
	mv "$tmp" "$dest"
	fix_headers_makefile "$dest/root" "$kver" || true
	depmod -b "$dest/root" "$kver"
	[ -f "$dest/root/boot/vmlinuz-$kver" ] || die "no vmlinuz in $dest"
	touch "$dest/.complete"
}

setup_kernel()
{
	local kver pkg
	kver=$(rodp_kver)
	if [ -n "$kver" ] && [ -f "$RODP_DEPS/$kver/.complete" ]; then
		if fix_headers_makefile "$(rodp_kroot "$kver")" "$kver"; then
			msg "kernel: $kver present in build/deps/$kver"
		else
			msg "kernel: $kver present, headers Makefile repointed"
		fi
		return
	fi
	pkg=$(apt_depends linux-image-amd64 'linux-image-[0-9]' | tail -n 1)
	[ -n "$pkg" ] || die "cannot tell which kernel linux-image-amd64 wants"
	kver=${pkg#linux-image-}
	if [ ! -f "$RODP_DEPS/$kver/.complete" ]; then
		fetch_kernel "$kver"
	fi
	printf '%s\n' "$kver" >"$RODP_DEPS/kver"
	msg "kernel: $kver ready in build/deps/$kver"
}

main()
{
	install_packages
	mkdir -p "$RODP_DEPS"
	rodp_locked "$RODP_DEPS/.lock" setup_kernel
}

main "$@"
