# shellcheck shell=bash
# scripts/lib.sh: shared definitions for ./rodp and the scripts it runs.
# Sourced, never executed.  Every path here is absolute.

# shellcheck disable=SC2034 # used by the scripts that source this
RODP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RODP_BUILD=$RODP_ROOT/build
RODP_DEPS=$RODP_BUILD/deps
RODP_CMAKE=$RODP_BUILD/cmake
RODP_VMDIR=$RODP_BUILD/vm

msg()
{
	printf 'rodp: %s\n' "$*" >&2
}

die()
{
	msg "error: $*"
	exit 1
}

# The kernel version setup chose (build/deps/kver), or nothing.
rodp_kver()
{
	if [ -s "$RODP_DEPS/kver" ]; then
		cat "$RODP_DEPS/kver"
	fi
}

# Root of the unpacked Debian kernel packages for version $1.
rodp_kroot()
{
	printf '%s\n' "$RODP_DEPS/$1/root"
}

# rodp_kernel_ready NAME [no]: the test kernel NAME (6.1, 6.12, newest,
# debug or a version) fetched if need be and, unless $2 is "no", rodp's
# modules built for it when it is not the default kernel
# (scripts/kernels.sh, scripts/build-kmod.sh, whose output goes to
# stderr); prints its version.
rodp_kernel_ready()
{
	local kv

	kv=$("$RODP_ROOT/scripts/kernels.sh" "$1") || return 1
	if [ "$kv" != "$(rodp_kver)" ] && [ "${2:-}" != no ]; then
		"$RODP_ROOT/scripts/build-kmod.sh" "$kv" >&2 || return 1
	fi
	printf '%s\n' "$kv"
}

# Kernel headers build directory (what RODP_KDIR names) for version $1.
rodp_kdir()
{
	printf '%s\n' "$RODP_DEPS/$1/root/usr/src/linux-headers-$1"
}

# Run "$@" holding an exclusive lock on file $LOCK (other engineers and
# CI jobs may run ./rodp in the same tree at the same time).
rodp_locked()
{
	local lock=$1
	shift
	mkdir -p "$(dirname "$lock")"
	(
		flock 9
		"$@"
	) 9>"$lock"
}

# rodp_debootstrap SUITE DIR PKG...: a minimal (minbase) root of Debian
# SUITE in DIR (removed first) with PKG... and what they depend on, from
# Debian's archive.
rodp_debootstrap()
{
	local suite=$1 dir=$2 pkgs
	shift 2
	command -v debootstrap >/dev/null ||
		die "debootstrap missing: ./rodp setup"
	pkgs=$(IFS=,; echo "$*")
	rm -rf "$dir"
	debootstrap --variant=minbase --include="$pkgs" "$suite" "$dir" \
		http://deb.debian.org/debian >&2 ||
		die "debootstrap $suite failed"
}

# rodp_pkg_missing PKG...: those of the Debian packages PKG... that are
# not installed, one a line.
rodp_pkg_missing()
{
	local p status
	for p in "$@"; do
		status=$(dpkg-query -W -f='${db:Status-Status}' "$p" \
			2>/dev/null || true)
		[ "$status" = installed ] || printf '%s\n' "$p"
	done
}

# rodp_apt_install WHAT PKG...: install those of the Debian packages
# PKG... that are missing (apt-get, without recommends; WHAT names them
# in the messages), and fail unless all are there afterwards.  Touches
# neither apt nor the network when nothing is missing.
rodp_apt_install()
{
	local what=$1 missing
	shift
	mapfile -t missing < <(rodp_pkg_missing "$@")
	if [ ${#missing[@]} -eq 0 ]; then
		msg "$what: all $# present"
		return
	fi
	[ "$(id -u)" -eq 0 ] || die "need root to install: ${missing[*]}"
	msg "$what: installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}" </dev/null >&2
	mapfile -t missing < <(rodp_pkg_missing "$@")
	[ ${#missing[@]} -eq 0 ] || die "still missing: ${missing[*]}"
}
