#!/bin/bash
# scripts/package.sh [--distro bookworm|trixie|sid]: build rodp's Debian
# packages for a real machine into build/pkg/<distro>/ (default: the
# distribution this host runs) and print their paths.
#
#  rodp-dkms_<ver>_all.deb
#	rodp.ko's sources under /usr/src/rodp-<ver>/ (kmod/, the parts of
#	lib/ it compiles, the uapi header) with a dkms.conf: DKMS builds and
#	installs the module for each kernel whose headers are installed, at
#	`apt install` and at every kernel update.  No fault-injection points
#	(those are for the test suites), no -Werror (a user's compiler may
#	warn where ours does not); the Kbuild feature probes run against the
#	headers DKMS builds with.  Also the boot-time bring-up: the
#	rodp@.service template (rodp@NETDEV makes the rodp device
#	rodp_NETDEV on NETDEV).
#  librodp1_<ver>_amd64.deb
#	the libibverbs provider in the layout of Debian's ibverbs-providers:
#	/usr/lib/<multiarch>/libibverbs/librodp-rdmav<ABI>.so and the
#	conffile /etc/libibverbs.d/rodp.driver ("driver rodp").  Compiled
#	against the target distribution's libibverbs: with the host's
#	toolchain when the host runs it, else inside build/deps/root-<distro>
#	(scripts/distro.sh).  The name follows Debian's separate provider
#	packages of old (libmthca1, libmlx4-1, libipathverbs1, which
#	ibverbs-providers still Replaces): lib<driver><n>; "1" because the
#	package name must not change with the private ABI, the file name
#	carries that.  It depends on libibverbs1 the way Debian's providers
#	do (the versions its symbols file gives for the symbols used), and,
#	since libibverbs1 cannot Break it as it breaks ibverbs-providers of
#	another ABI, on libibverbs1 of the upstream release it was built
#	against: a newer rdma-core may change the private ABI; rebuild then.
#
# The version is CMakeLists.txt's project VERSION plus the commit
# (<ver>+git<YYYYMMDD>.<HHMMSS>.<hash>, the commit's UTC time; ".dirty"
# when the packaged sources differ from it); file times are the commit's.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage()
{
	echo "usage: ./rodp package [--distro bookworm|trixie|sid]" >&2
	exit 2
}

host_distro=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
distro=$host_distro
while [ $# -gt 0 ]; do
	case $1 in
	--distro) distro=${2:-}; [ -n "$distro" ] || usage; shift 2 ;;
	-h|--help) usage ;;
	*) msg "package: unknown option $1"; usage ;;
	esac
done
case $distro in
bookworm|trixie|sid) ;;
*) die "package: distribution '$distro' is not bookworm, trixie or sid" ;;
esac
for t in dpkg-deb readelf objdump strip; do
	command -v "$t" >/dev/null || die "package: $t missing"
done

out=$RODP_BUILD/pkg/$distro
work=$out/work
MULTIARCH=x86_64-linux-gnu
# What the packages contain: a change here makes the version ".dirty".
SOURCES=(kmod lib/src lib/include provider scripts/package.sh
	 scripts/pkg CMakeLists.txt)

# --- version ---------------------------------------------------------
base=$(sed -n 's/^project(rodp VERSION \([0-9.]*\).*/\1/p' \
	"$RODP_ROOT/CMakeLists.txt")
[ -n "$base" ] || die "package: no project VERSION in CMakeLists.txt"
if git -C "$RODP_ROOT" rev-parse --verify -q HEAD >/dev/null; then
	epoch=$(git -C "$RODP_ROOT" log -1 --format=%ct)
	version=$base+git$(TZ=UTC0 date -d "@$epoch" +%Y%m%d.%H%M%S)
	version+=.$(git -C "$RODP_ROOT" rev-parse --short=7 HEAD)
	if ! git -C "$RODP_ROOT" diff --quiet HEAD -- "${SOURCES[@]}" ||
	   [ -n "$(git -C "$RODP_ROOT" ls-files --others --exclude-standard \
		-- "${SOURCES[@]}")" ]; then
		version+=.dirty
	fi
	maintainer=$(git -C "$RODP_ROOT" log -1 --format='%an <%ae>')
else
	epoch=$(stat -c %Y "$RODP_ROOT/CMakeLists.txt")
	version=$base
	maintainer="rodp developers <rodp@localhost>"
fi
maintainer=${RODP_PKG_MAINTAINER:-$maintainer}
export SOURCE_DATE_EPOCH=$epoch
# The systemd unit directory each release's policy wants.
unitdir=/usr/lib/systemd/system
[ "$distro" != bookworm ] || unitdir=/lib/systemd/system

rm -rf "$work"
mkdir -p "$work" "$out"
rm -f "$out"/*.deb

# subst FILE...: replace the @NAME@ placeholders in place.
subst()
{
	sed -i -e "s|@VERSION@|$version|g" -e "s|@MAINTAINER@|$maintainer|g" \
		-e "s|@MULTIARCH@|$MULTIARCH|g" -e "s|@UNITDIR@|$unitdir|g" \
		"$@"
}

# doc PKG ROOT: the copyright file and changelog every package carries.
doc()
{
	local d=$2/usr/share/doc/$1
	mkdir -p "$d"
	cp "$RODP_ROOT/scripts/pkg/copyright" "$d/copyright"
	{
		printf '%s (%s) unstable; urgency=medium\n\n' "$1" "$version"
		printf '  * Built from the rodp repository at %s.\n\n' \
			"$(git -C "$RODP_ROOT" rev-parse HEAD 2>/dev/null ||
				echo "version $base")"
		printf ' -- %s  %s\n' "$maintainer" \
			"$(LC_ALL=C TZ=UTC0 date -R -d "@$epoch")"
	} | gzip -9n >"$d/changelog.gz"
}

# finish ROOT PKG: md5sums, Installed-Size, times, permissions; build
# the .deb.
finish()
{
	local root=$1 pkg=$2 arch deb size
	(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' |
		LC_ALL=C sort -z | xargs -0r md5sum) >"$root/DEBIAN/md5sums"
	size=$(du -k -s --exclude=DEBIAN "$root" | cut -f1)
	sed -i "s/^Installed-Size:.*/Installed-Size: $size/" \
		"$root/DEBIAN/control"
	find "$root" -type d -exec chmod 0755 {} +
	find "$root" -type f ! -perm -u+x -exec chmod 0644 {} +
	find "$root" -type f -perm -u+x -exec chmod 0755 {} +
	find "$root" -exec touch -h -d "@$epoch" {} +
	arch=$(sed -n 's/^Architecture: //p' "$root/DEBIAN/control")
	deb=$out/${pkg}_${version}_$arch.deb
	dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
	echo "$deb"
}

# --- rodp-dkms ---------------------------------------------------------
build_dkms()
{
	local root=$work/rodp-dkms src f
	src=$root/usr/src/rodp-$version
	mkdir -p "$src/lib" "$src/include/rcore" "$src/uapi/rdma" \
		"$root/DEBIAN" "$root$unitdir"
	# The module without the test suites' fault injection.
	for f in "$RODP_ROOT"/kmod/*.c "$RODP_ROOT"/kmod/*.h; do
		[ "$(basename "$f")" = rodp_inject.c ] || cp "$f" "$src/"
	done
	cp "$RODP_ROOT/kmod/Kbuild" "$src/"
	cp "$RODP_ROOT"/kmod/uapi/rdma/*.h "$src/uapi/rdma/"
	cp "$RODP_ROOT"/lib/src/*.c "$src/lib/"
	cp "$RODP_ROOT"/lib/include/rcore/*.h "$src/include/rcore/"
	cp "$RODP_ROOT/scripts/pkg/dkms.conf" "$src/dkms.conf"
	cp "$RODP_ROOT/scripts/pkg/rodp@.service" "$root$unitdir/"
	for f in control postinst prerm postrm; do
		cp "$RODP_ROOT/scripts/pkg/rodp-dkms.$f" "$root/DEBIAN/$f"
	done
	chmod 0755 "$root"/DEBIAN/post* "$root"/DEBIAN/pre*
	doc rodp-dkms "$root"
	cp "$RODP_ROOT/scripts/pkg/README.Debian" \
		"$root/usr/share/doc/rodp-dkms/README.Debian"
	subst "$src/dkms.conf" "$root"/DEBIAN/* "$root$unitdir/rodp@.service" \
		"$root/usr/share/doc/rodp-dkms/README.Debian"
	finish "$root" rodp-dkms
}

# --- librodp1 ----------------------------------------------------------
# The provider, configured with Debian's usual hardening flags in a
# build directory of its own, against the libibverbs of the root it runs
# in (/ for the host).
build_provider_in()
{
	local root=$1 bdir=$2 repo
	local cflags="-g -O2 -ffile-prefix-map=$RODP_ROOT=. -fstack-protector-strong -fstack-clash-protection -Wformat -Werror=format-security -fcf-protection -D_FORTIFY_SOURCE=2"
	local ldflags="-Wl,-z,relro -Wl,-z,now"
	# A command line for sh -c (here, or in the chroot).
	# shellcheck disable=SC2089,SC2090
	local cmd="rm -rf '$bdir' && cmake -S '$RODP_ROOT' -B '$bdir' \
		-DRODP_PROVIDER_ONLY=ON -DCMAKE_BUILD_TYPE=None \
		-DCMAKE_C_FLAGS='$cflags' \
		-DCMAKE_SHARED_LINKER_FLAGS='$ldflags' \
		-DCMAKE_MODULE_LINKER_FLAGS='$ldflags' >/dev/null &&
		cmake --build '$bdir' -j2"
	if [ "$root" = / ]; then
		sh -c "$cmd"
		return
	fi
	repo=$(readlink -f "$RODP_ROOT")
	# shellcheck disable=SC2090 # a command line for sh -c
	export root repo cmd
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare -m bash -c '
		set -eu
		mkdir -p "$root$repo"
		mount --bind "$repo" "$root$repo"
		mount -t proc proc "$root/proc"
		chroot "$root" /bin/sh -c "$cmd"'
}

# shlibs_depends ROOT SO: "pkg (>= v), ..." for the libraries SO needs,
# from their packages' symbols files in ROOT's dpkg database (what
# dpkg-shlibdeps does): the highest minimal version over the symbols SO
# uses.
shlibs_depends()
{
	local root=$1 so=$2 lib sym
	for lib in $(readelf -d "$so" |
		     sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		# The amd64 package's, not lib32/libx32/-i386 ones.
		sym=$(grep -l "^$lib " \
			"$root"/var/lib/dpkg/info/*:amd64.symbols \
			2>/dev/null | head -n 1)
		[ -n "$sym" ] || die "package: no symbols file for $lib in $root"
		# "sym@VERSION" for each symbol SO imports, then the symbols
		# file's section for LIB: "lib pkg #MINVER#", " sym@V minver".
		objdump -T "$so" | awk '/\*UND\*/ && $(NF - 1) ~ /^\(.*\)$/ {
			v = $(NF - 1); gsub(/[()]/, "", v); print $NF "@" v }' |
		awk -v lib="$lib" '
			NR == FNR { want[$1] = 1; next }
			/^[^ *|#]/ { in_lib = ($1 == lib); if (in_lib) pkg = $2 }
			in_lib && /^ / && ($1 in want) { print pkg, $2 }
		' - "$sym" | sort -k2,2V | tail -n 1
	done | sort | awk '{ printf "%s%s (>= %s)", (NR > 1 ? ", " : ""), $1, $2 }'
}

build_librodp()
{
	local root=$work/librodp1 sysroot=/ bdir so abi libdir deps ibv major
	if [ "$distro" != "$host_distro" ]; then
		sysroot=$("$RODP_ROOT/scripts/distro.sh" "$distro") ||
			die "package: no $distro root"
	fi
	bdir=$work/provider-build
	build_provider_in "$sysroot" "$bdir" >"$work/provider.log" 2>&1 || {
		cat "$work/provider.log" >&2
		die "package: building the provider for $distro failed"
	}
	so=$(compgen -G "$bdir/provider/librodp-rdmav*.so" | head -n 1)
	[ -n "$so" ] || die "package: no provider built in $bdir"
	abi=${so##*-rdmav}
	abi=${abi%.so}
	libdir=$root/usr/lib/$MULTIARCH/libibverbs
	mkdir -p "$libdir" "$root/etc/libibverbs.d" "$root/DEBIAN"
	# Stripped as dh_strip would (the debug info stays in the build).
	strip --strip-unneeded --remove-section=.comment \
		--remove-section=.note -o "$libdir/$(basename "$so")" "$so"
	printf 'driver rodp\n' >"$root/etc/libibverbs.d/rodp.driver"
	deps=$(shlibs_depends "$sysroot" "$so")
	ibv=$(chroot "$sysroot" dpkg-query -W -f='${Version}' libibverbs1)
	major=${ibv#*:}
	major=${major%%.*}
	deps+=", libibverbs1 (<< $((major + 1))~)"
	cp "$RODP_ROOT/scripts/pkg/librodp1.control" "$root/DEBIAN/control"
	printf '/etc/libibverbs.d/rodp.driver\n' >"$root/DEBIAN/conffiles"
	doc librodp1 "$root"
	subst "$root/DEBIAN/control"
	sed -i -e "s|@DEPENDS@|$deps|" -e "s|@ABI@|$abi|g" \
		-e "s|@IBVERBS@|$ibv|g" "$root/DEBIAN/control"
	finish "$root" librodp1
}

build_dkms
build_librodp
msg "package: rodp $version for $distro in build/pkg/$distro"
