#!/bin/bash
# scripts/mkinitramfs.sh KVER: build build/vm/initramfs-KVER.cpio, the
# guest's busybox initramfs: /init (tests/vm/harness/init), a static
# busybox and the modules needed to mount the host over virtio 9p.
# Rebuilt only when an input changed (busybox, init, the modules).
# pipefail: a failed step in the stamp's or the archive's pipeline must not
# leave a stamp over missing inputs or a truncated initramfs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kver=${1:?usage: mkinitramfs.sh KVER}
kroot=$(rodp_kroot "$kver")
out=$RODP_VMDIR/initramfs-$kver.cpio
init=$RODP_ROOT/tests/vm/harness/init
busybox=/bin/busybox

[ -d "$kroot/lib/modules/$kver" ] || die "kernel $kver not unpacked"
[ -x "$busybox" ] || die "$busybox missing (install busybox-static)"
# ldd fails on a static binary; the initramfs has no libc to offer.
if ldd "$busybox" >/dev/null 2>&1; then
	die "$busybox is not static (install busybox-static)"
fi

# Modules to mount the host root (and an overlay over it), in load order,
# each once.
# `modprobe --show-depends` prints "insmod PATH" (or "builtin NAME").
deps=$(modprobe -d "$kroot" -S "$kver" -a --show-depends \
	virtio_pci 9pnet_virtio 9p overlay) ||
	die "modprobe --show-depends failed"
mapfile -t modules < <(awk '$1 == "insmod" && !seen[$2]++ { print $2 }' \
	<<<"$deps")
[ ${#modules[@]} -gt 0 ] || die "no 9p modules found for $kver"

stamp=$( {
	printf '%s\n' "$kver"
	sha256sum "$init" "$busybox" "${modules[@]}" "$0"
} | sha256sum | cut -d' ' -f1)

if [ -f "$out" ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$stamp" ]; then
	exit 0
fi

msg "building $(basename "$out")"
mkdir -p "$RODP_VMDIR"
tmp=$(mktemp -d "$RODP_VMDIR/.initramfs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/tree/bin" "$tmp/tree/modules" "$tmp/tree/dev" \
	"$tmp/tree/proc" "$tmp/tree/sys" "$tmp/tree/newroot"
cp "$busybox" "$tmp/tree/bin/busybox"
cp "$init" "$tmp/tree/init"
chmod 755 "$tmp/tree/init"
for m in "${modules[@]}"; do
	name=$(basename "$m")
	# busybox insmod reads only plain .ko files.
	case $name in
	*.ko.xz)  xz -dc "$m" >"$tmp/tree/modules/${name%.xz}" ;;
	*.ko.zst) zstd -qdc "$m" >"$tmp/tree/modules/${name%.zst}" ;;
	*.ko.gz)  gzip -dc "$m" >"$tmp/tree/modules/${name%.gz}" ;;
	*)        cp "$m" "$tmp/tree/modules/$name" ;;
	esac
	printf '%s\n' "${name%.ko*}.ko" >>"$tmp/tree/modules/order"
done
(cd "$tmp/tree" && find . -print0 | sort -z |
	cpio --null -o -H newc --quiet) >"$tmp/initramfs.cpio"
mv "$tmp/initramfs.cpio" "$out"
printf '%s\n' "$stamp" >"$out.stamp"
