#!/bin/bash
# scripts/kernels.sh NAME: make the test kernel NAME ready, and print its
# version.  NAME is a short name, or a full version (unpacked already, or
# downloaded from the Debian release that serves it: full_version()):
#
#   6.1     Debian 12's kernel (bookworm; what setup.sh unpacks by default)
#   6.12    Debian 13's kernel (trixie)
#   newest  the newest release kernel Debian's archive serves (sid; not
#           experimental's release candidates)
#   debug   Debian 12's 6.1 source with lockdep, KASAN, kmemleak and more,
#           built here (scripts/debugkernel.sh; 18 min on 2 idle cores, cached)
#
# For trixie and sid:
#  - a private apt configuration under build/deps/apt-SUITE (the host's
#    sources stay bookworm's) downloads the kernel's packages into
#    build/deps/debs, unpacked like 6.1's under build/deps/KVER/root;
#  - build/deps/toolchain-SUITE is a minimal debootstrapped root with the
#    compiler that built that kernel (its CONFIG_CC_VERSION_TEXT): the host's
#    gcc 12 cannot build for kernels made with gcc 14 or 16.  build-kmod.sh
#    builds the modules in it.
# build/deps/kver-NAME remembers the version a short name chose.
# Idempotent and offline once everything is there.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

name=${1:?usage: kernels.sh 6.1|6.12|newest|debug|KVER}

suite_of()
{
	case $1 in
	6.1) echo bookworm ;;
	6.12) echo trixie ;;
	newest) echo sid ;;
	*) return 1 ;;
	esac
}

# apt-get/apt-cache with the private configuration of suite $1.
papt()
{
	local suite=$1 tool=$2 dir=$RODP_DEPS/apt-$1
	shift 2
	"$tool" -o Dir::Etc::SourceList=/dev/null \
		-o Dir::Etc::SourceParts="$dir/parts" \
		-o Dir::State::Lists="$dir/lists" \
		-o Dir::Cache="$dir/cache" \
		-o APT::Sandbox::User=root "$@"
}

apt_prepare()
{
	local suite=$1 dir=$RODP_DEPS/apt-$1
	if [ -f "$dir/.updated" ]; then
		return
	fi
	mkdir -p "$dir/parts" "$dir/lists/partial" "$dir/cache/archives/partial"
	cat >"$dir/parts/$suite.sources" <<-EOF
	Types: deb
	URIs: http://deb.debian.org/debian
	Suites: $suite
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	msg "apt: package lists of $suite"
	papt "$suite" apt-get update -q >&2 || die "apt-get update ($suite) failed"
	touch "$dir/.updated"
}

# The headers' Makefile includes the -common tree by its installed path
# (after a KBUILD_OUTPUT line on newer kernels): point it at the unpacked
# one.
fix_makefile()
{
	local root=$1 kver=$2 mk
	mk=$root/usr/src/linux-headers-$kver/Makefile
	[ -f "$mk" ] || die "$mk missing"
	sed -i -e "s|^include /usr/src/|include $root/usr/src/|" \
		-e "s|^KBUILD_OUTPUT=/usr/src/|KBUILD_OUTPUT=$root/usr/src/|" "$mk"
	grep -q "^include $root/usr/src/linux-headers-.*/Makefile" "$mk" ||
		die "$mk: unexpected contents: $(cat "$mk")"
}

# fetch SUITE [KVER]: download and unpack kernel KVER (default: the one
# behind SUITE's linux-image-amd64) and its headers; print its version.
fetch()
{
	local suite=$1 kver=${2:-} pkgs=() p deb dest tmp debs=$RODP_DEPS/debs
	[ -n "$kver" ] ||
		kver=$(papt "$suite" apt-cache depends linux-image-amd64 |
			sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*\)$/\1/p' |
			sort -V | tail -n 1)
	[ -n "$kver" ] || die "$suite: no kernel behind linux-image-amd64"
	dest=$RODP_DEPS/$kver
	if [ -f "$dest/.complete" ]; then
		echo "$kver"
		return
	fi
	# The image, and its headers with what they depend on (-common,
	# kbuild); sid splits the image into binary and modules packages.
	pkgs=("linux-image-$kver" "linux-headers-$kver")
	for p in "linux-image-$kver" "linux-headers-$kver"; do
		mapfile -t -O "${#pkgs[@]}" pkgs < <(papt "$suite" apt-cache \
			depends "$p" | sed -n \
			's/^ *Depends: \(linux-\(headers\|kbuild\|binary\|modules\|base\)-[0-9][^ ]*\)$/\1/p' |
			grep -v -- '-unsigned$' | sort -u)
	done
	msg "kernel $kver ($suite): ${pkgs[*]}"
	mkdir -p "$debs"
	for p in "${pkgs[@]}"; do
		compgen -G "$debs/${p}_*.deb" >/dev/null && continue
		(cd "$debs" && papt "$suite" apt-get download -q "$p" >&2) ||
			die "apt-get download $p failed"
	done
	tmp=$RODP_DEPS/.$kver.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp/root"
	for p in "${pkgs[@]}"; do
		deb=$(compgen -G "$debs/${p}_*.deb" | sort -V | tail -n 1)
		dpkg -x "$deb" "$tmp/root"
	done
	# One layout for every kernel: lib/modules/KVER, boot/vmlinuz-KVER.
	[ -e "$tmp/root/lib" ] || ln -s usr/lib "$tmp/root/lib"
	mkdir -p "$tmp/root/boot"
	if [ ! -f "$tmp/root/boot/vmlinuz-$kver" ]; then
		cp "$tmp/root/lib/modules/$kver/vmlinuz" \
			"$tmp/root/boot/vmlinuz-$kver"
	fi
	echo "$suite" >"$tmp/suite"
	rm -rf "$dest"
	mv "$tmp" "$dest"
	fix_makefile "$dest/root" "$kver"
	depmod -b "$dest/root" "$kver"
	touch "$dest/.complete"
	echo "$kver"
}

# A minimal root of $suite with the compiler that built kernel $2.
toolchain()
{
	local suite=$1 kver=$2 dir=$RODP_DEPS/toolchain-$1 cc
	cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="x86_64-linux-gnu-\(gcc-[0-9]*\) .*/\1/p' \
		"$(rodp_kdir "$kver")/.config")
	[ -n "$cc" ] || die "cannot tell which gcc built $kver"
	if [ -x "$dir/usr/bin/x86_64-linux-gnu-$cc" ] && [ -f "$dir/.complete" ]; then
		return
	fi
	command -v debootstrap >/dev/null ||
		rodp_apt_install toolchain debootstrap
	msg "toolchain: debootstrap $suite with $cc into build/deps/toolchain-$suite"
	rodp_debootstrap "$suite" "$dir" "$cc" make bc flex bison libelf-dev \
		kmod perl dwarves xz-utils libc6-dev
	touch "$dir/.complete"
}

# A full version KVER (e.g. 6.12.117+deb13-amd64): downloaded from the
# release (bookworm, trixie or sid) that has linux-image-KVER, with that
# release's compiler for it.
full_version()
{
	local kver=$1 suite
	case $kver in
	*[!A-Za-z0-9.+~-]*|'') die "unknown kernel '$kver'" ;;
	esac
	local pass
	# The package lists as they are, then (a version published since)
	# fresh ones.
	for pass in cached fresh; do
		for suite in bookworm trixie sid; do
			[ "$pass" = cached ] ||
				rm -f "$RODP_DEPS/apt-$suite/.updated"
			apt_prepare "$suite"
			papt "$suite" apt-cache show "linux-image-$kver" \
				>/dev/null 2>&1 || continue
			fetch "$suite" "$kver" >/dev/null
			[ "$suite" = bookworm ] || toolchain "$suite" "$kver"
			echo "$kver"
			return
		done
	done
	die "unknown kernel $kver: not unpacked, and no linux-image-$kver in bookworm, trixie or sid (6.1, 6.12, newest, debug, or a version Debian serves)"
}

main()
{
	local suite kver
	if [ "$name" = debug ]; then
		kver=$("$RODP_ROOT/scripts/debugkernel.sh")
		printf '%s\n' "$kver" >"$RODP_DEPS/kver-debug"
		echo "$kver"
		return
	fi
	if ! suite=$(suite_of "$name"); then
		# A full version: unpacked already, or from the first of
		# Debian's releases that serves it.
		if [ ! -f "$RODP_DEPS/$name/.complete" ]; then
			full_version "$name"
			return
		fi
		echo "$name"
		return
	fi
	if [ "$suite" = bookworm ]; then
		"$RODP_ROOT/scripts/setup.sh" >&2
		kver=$(rodp_kver)
	else
		apt_prepare "$suite"
		kver=$(fetch "$suite")
		toolchain "$suite" "$kver"
	fi
	printf '%s\n' "$kver" >"$RODP_DEPS/kver-$name"
	echo "$kver"
}

mkdir -p "$RODP_DEPS"
main
