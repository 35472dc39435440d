#!/bin/bash
# tests/pkg/pkgtest.sh PKGDIR: the Debian packages on a machine of their
# own.  Runs inside a guest whose root is a fresh, writable Debian root
# (scripts/pkgroot.sh: dkms, rdma-core, perftest and the booted kernel
# with its headers, nothing of rodp's), booted by scripts/pkgtest.sh with
# `./rodp vm --root ... --overlay --bare`.  PKGDIR holds rodp-dkms_*.deb
# and librodp1_*.deb (./rodp package).  Exactly the README's procedure:
#
#   apt install ./rodp-dkms_*.deb ./librodp1_*.deb   (DKMS builds rodp.ko
#       for the running kernel, installs and loads it)
#   rdma link add rodp0 type rodp netdev ve0, ibv_devinfo -d rodp0 -v,
#   ib_write_bw --odp rodp0 -> rodp1 (ns0 -> ns1 over a veth pair)
#   rodp@.service's commands, systemctl enable
#   apt purge rodp-dkms librodp1 (devices still up)
#
# and checks that the purge leaves no file behind: a list of every file
# in the root (find -xdev; apt's and dpkg's state, logs and caches
# aside) before the install and after the purge must be the same.
# Everything runs with an empty environment (no RDMAV_DRIVERS, no
# LD_LIBRARY_PATH): libibverbs finds the provider through
# /etc/libibverbs.d alone.  Prints TAP.
set -u

if [ -z "${RODP_PKGTEST_CLEAN:-}" ]; then
	exec env -i RODP_PKGTEST_CLEAN=1 RODP_VM_RUN="${RODP_VM_RUN:-}" \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		TERM=dumb bash "$0" "$@"
fi
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../vm/harness/tap.sh"
. "$HERE/../../perftest/lib.sh"
PKGDIR=${1:?usage: pkgtest.sh PKGDIR}
KVER=$(uname -r)
OUT=${RODP_VM_RUN:-/tmp}/pkgtest
mkdir -p "$OUT"
PT_DIR=$OUT/perftest
export DEBIAN_FRONTEND=noninteractive
MULTIARCH=x86_64-linux-gnu

# manifest: every path in the root but the kernel's and the test bed's
# mounts (-xdev), dpkg's and apt's own state, logs and caches, and the
# machine's DKMS signing key (dkms makes it at its first build, for every
# module it will build; it is dkms's, not rodp's).
manifest()
{
	find / -xdev \( -path /var/lib/dpkg -o -path /var/lib/apt \
		-o -path /var/cache -o -path /var/log \
		-o -path '/var/lib/dkms/mok.*' -o -path /proc -o -path /sys \
		-o -path /dev -o -path /run -o -path /tmp \) -prune \
		-o -printf '%y %p\n' | LC_ALL=C sort
}

rodp_links()
{
	rdma link show 2>/dev/null | awk '$2 ~ /^rodp/ { print $2 }'
}

# The test bed's /dev (a bare devtmpfs) lacks what udev makes on a real
# machine; dkms uses <(...), which needs /dev/fd.
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd

plan 16

diag "kernel $KVER, $(. /etc/os-release && echo "$PRETTY_NAME")"
debs=$(ls "$PKGDIR"/rodp-dkms_*_all.deb "$PKGDIR"/librodp1_*_amd64.deb \
	2>/dev/null | wc -l)
fresh=1
if [ "$debs" != 2 ] || [ -n "$(compgen -G '/usr/src/rodp-*')" ] ||
   [ -e /etc/libibverbs.d/rodp.driver ] ||
   [ -n "$(find "/lib/modules/$KVER" -name 'rodp.ko*')" ] ||
   [ ! -e "/lib/modules/$KVER/build/Makefile" ] ||
   env | grep -qE '^(RDMAV_|IBV_|LD_LIBRARY_PATH|LD_PRELOAD)'; then
	fresh=0
	diag "packages: $(ls "$PKGDIR")"
fi
is "fresh root: both packages, no rodp, headers of $KVER, no RDMAV_/LD_ variables" \
	$fresh 1

manifest >"$OUT/manifest.before"

# 2: the install; DKMS compiles here.
start=$SECONDS
(cd "$PKGDIR" && apt install -y ./rodp-dkms_*_all.deb \
	./librodp1_*_amd64.deb) >"$OUT/install.log" 2>&1
rc=$?
took=$((SECONDS - start))
diag "apt install took ${took}s (DKMS build included)"
if [ $rc -eq 0 ]; then
	pass "apt install ./rodp-dkms_*.deb ./librodp1_*.deb"
else
	fail "apt install ./rodp-dkms_*.deb ./librodp1_*.deb (exit $rc)"
	tail -n 30 "$OUT/install.log" | sed 's/^/#   /'
	find /var/lib/dkms/rodp -name make.log -exec tail -n 20 {} \; |
		sed 's/^/#   /'
fi

# 3: DKMS built and installed it for this kernel, in updates/.
ver=$(dpkg-query -W -f='${Version}' rodp-dkms 2>/dev/null)
ko=$(find "/lib/modules/$KVER/updates" -name 'rodp.ko*' 2>/dev/null |
	head -n 1)
st=$(dkms status -m rodp -v "$ver" -k "$KVER" 2>/dev/null)
diag "dkms status: $st; module: $ko"
if [ -n "$ver" ] && [ -n "$ko" ] && grep -q ': installed' <<<"$st" &&
   [ "$(modinfo -F vermagic "$ko" | cut -d' ' -f1)" = "$KVER" ]; then
	pass "dkms: rodp/$ver installed for $KVER"
else
	fail "dkms: rodp installed for $KVER"
fi

# 4: the postinst loaded it; unload and modprobe again from the root's
# own /lib/modules (ib_core and the rest come as its dependencies).
if [ -d /sys/module/rodp ] && rmmod rodp && modprobe rodp &&
   [ -d /sys/module/rodp ] &&
   [ "$(modinfo -F filename rodp)" = "$ko" ]; then
	pass "loaded at install; modprobe rodp loads $ko"
else
	fail "loaded at install; modprobe rodp"
	lsmod | sed 's/^/#   /'
fi

# 5: the packaged module has no test-suite fault injection.
mountpoint -q /sys/kernel/debug ||
	mount -t debugfs none /sys/kernel/debug 2>/dev/null
# (rodp_inject.c makes debugfs rodp/inject/; rodp/mm_refs, the mm
# reference counts, is there in every build).
if mountpoint -q /sys/kernel/debug &&
   [ -e /sys/kernel/debug/rodp/mm_refs ] &&
   [ ! -e /sys/kernel/debug/rodp/inject ] &&
   ! grep -qw rodp_inject_init /proc/kallsyms; then
	pass "no fault-injection points in the packaged module"
else
	fail "no fault-injection points in the packaged module"
	ls /sys/kernel/debug/rodp 2>&1 | sed 's/^/#   /'
fi

# The network: ve0 (ns0, 10.77.0.10) <-> ve1 (ns1, 10.77.0.11), and ve2
# (initial namespace, no address) for the service.
# The test bed runs this chrooted: the kernel's own module requests
# (veth for `ip link add`) run the initramfs' modprobe, not the root's;
# load veth by hand (a real machine's kernel does it by itself).
modprobe veth
ip link set lo up
ip link add ve0 type veth peer name ve1
for i in 0 1; do
	ip netns add ns$i
	ip link set ve$i netns ns$i
	ip -n ns$i link set lo up
	ip -n ns$i addr add 10.77.0.1$i/24 dev ve$i
	ip -n ns$i link set ve$i up
done
ip link add ve2 type veth peer name ve3
ip link set ve2 up
ip link set ve3 up

# 6: the devices, as the README does it.
if ip netns exec ns0 rdma link add rodp0 type rodp netdev ve0 &&
   ip netns exec ns1 rdma link add rodp1 type rodp netdev ve1 &&
   wait_for 20 port_is rodp0 state PORT_ACTIVE &&
   wait_for 20 port_is rodp1 state PORT_ACTIVE &&
   wait_for 20 pt_gid rodp0 && wait_for 20 pt_gid rodp1; then
	pass "rdma link add rodp0/rodp1 type rodp netdev ve0/ve1: ports active"
else
	fail "rdma link add rodp0/rodp1: ports active"
	rdma link show 2>&1 | sed 's/^/#   /'
fi

# 7: ibv_devinfo through the installed provider: the device, its port,
# its ODP capabilities.
ibv_devinfo -d rodp0 -v >"$OUT/devinfo" 2>&1
rc=$?
odp=$(awk '/rc_odp_caps:/ { on = 1; next } on && /SUPPORT_/ { print $1 }
	on && !/SUPPORT_/ { on = 0 }' "$OUT/devinfo" | sort | tr '\n' ' ')
diag "rc_odp_caps: $odp"
if [ $rc -eq 0 ] && grep -q 'hca_id:[[:space:]]*rodp0' "$OUT/devinfo" &&
   grep -q 'link_layer:[[:space:]]*Ethernet' "$OUT/devinfo" &&
   grep -q 'ODP_SUPPORT' "$OUT/devinfo" &&
   [[ $odp == *SUPPORT_WRITE* ]] && [[ $odp == *SUPPORT_READ* ]] &&
   ! grep -qi "couldn't load driver" "$OUT/devinfo"; then
	pass "ibv_devinfo -d rodp0 -v: device, Ethernet port, ODP caps"
else
	fail "ibv_devinfo -d rodp0 -v: device, Ethernet port, ODP caps"
	head -n 40 "$OUT/devinfo" | sed 's/^/#   /'
fi

# 8: the provider that libibverbs loaded is the package's.
# (ibv_rc_pingpong itself, not under timeout: its maps are looked at;
# it waits for a client that never comes and is killed below)
ibv_rc_pingpong -d rodp1 -g "$(pt_gid rodp1)" -p 18500 \
	>"$OUT/pingpong" 2>&1 &
pp=$!
provider_mapped()
{
	grep -q 'librodp-rdmav' "/proc/$pp/maps" 2>/dev/null
}
wait_for 30 provider_mapped
lib=$(grep -o '/[^ ]*librodp-rdmav[0-9]*\.so' "/proc/$pp/maps" 2>/dev/null |
	sort -u)
kill $pp 2>/dev/null
wait $pp 2>/dev/null
is "libibverbs loads the packaged provider" \
	"$(dirname "${lib:-/none}")" "/usr/lib/$MULTIARCH/libibverbs"
[ -n "$lib" ] || sed 's/^/#   /' "$OUT/pingpong"

# 9: traffic: ib_write_bw --odp on both ends, rodp0 -> rodp1.
odp0=$(cat /sys/class/infiniband/rodp1/ports/1/hw_counters/odp_faults \
	2>/dev/null || echo 0)
if pt_pair write-odp ns1 rodp1 ns0 rodp0 10.77.0.11 ib_write_bw --odp \
	-s 65536 -n 200 && [ -n "$(pt_bw "$PT_DIR/write-odp.client")" ]; then
	odp1=$(cat /sys/class/infiniband/rodp1/ports/1/hw_counters/odp_faults \
		2>/dev/null || echo 0)
	diag "ib_write_bw --odp: $(pt_bw "$PT_DIR/write-odp.client");" \
	     "rodp1 odp_faults $odp0 -> $odp1"
	if [ "$odp1" -gt "$odp0" ]; then
		pass "ib_write_bw --odp rodp0 -> rodp1 (ns0 -> ns1), ODP faults served"
	else
		fail "ib_write_bw --odp rodp0 -> rodp1: no ODP fault on rodp1"
	fi
else
	fail "ib_write_bw --odp rodp0 -> rodp1: $PT_WHY"
fi

# 10-12: the boot-time bring-up, rodp@.service for ve2: the unit
# verifies, and its commands make and delete rodp_ve2 (no systemd runs
# as PID 1 here).
unit=$(dpkg -L rodp-dkms | grep '/rodp@\.service$')
if [ -n "$unit" ] && command -v systemd-analyze >/dev/null; then
	check "systemd-analyze verify rodp@ve2.service" \
		systemd-analyze verify "$(dirname "$unit")/rodp@ve2.service"
else
	fail "systemd-analyze verify rodp@ve2.service (unit: '$unit')"
fi
cmds()
{
	sed -n "s/^$1=//p" "$unit" | sed 's/%[iI]/ve2/g'
}
ok=1 ran=0
while read -r c; do
	diag "$c"
	$c || ok=0
	ran=$((ran + 1))
done < <(cmds ExecStartPre; cmds ExecStart)
if [ $ok = 1 ] && [ $ran = 2 ] && [ "$(rodp_links | grep -c '^rodp_ve2/')" = 1 ] &&
   wait_for 20 port_is rodp_ve2 state PORT_ACTIVE; then
	pass "rodp@ve2 ExecStart: rodp_ve2 on ve2, port active"
else
	fail "rodp@ve2 ExecStart: rodp_ve2 on ve2"
fi
ok=1 ran=0
while read -r c; do
	diag "$c"
	$c || ok=0
	ran=$((ran + 1))
done < <(cmds ExecStop)
if [ $ok = 1 ] && [ $ran = 1 ] && ! rodp_links | grep -q '^rodp_ve2/'; then
	pass "rodp@ve2 ExecStop: rodp_ve2 gone"
else
	fail "rodp@ve2 ExecStop: rodp_ve2 gone"
fi

# 13: enabled for boot (the purge must forget it).
if systemctl enable rodp@ve2.service >"$OUT/enable.log" 2>&1 &&
   [ "$(systemctl is-enabled rodp@ve2.service 2>/dev/null)" = enabled ]; then
	pass "systemctl enable rodp@ve2"
else
	fail "systemctl enable rodp@ve2"
	sed 's/^/#   /' "$OUT/enable.log"
fi

# 14: purge with rodp0 and rodp1 still up: the prerm unloads the module.
start=$SECONDS
apt purge -y rodp-dkms librodp1 >"$OUT/purge.log" 2>&1
rc=$?
diag "apt purge took $((SECONDS - start))s"
if [ $rc -eq 0 ] && [ ! -d /sys/module/rodp ] && [ -z "$(rodp_links)" ]; then
	pass "apt purge rodp-dkms librodp1 (devices up): module unloaded"
else
	fail "apt purge rodp-dkms librodp1 (exit $rc): module unloaded"
	tail -n 20 "$OUT/purge.log" | sed 's/^/#   /'
	lsmod | grep -w rodp | sed 's/^/#   /'
fi

# 15: nothing of rodp left where it would be.
left=$(ls -d /usr/src/rodp-* /var/lib/dkms/rodp \
	/etc/libibverbs.d/rodp.driver \
	/usr/lib/$MULTIARCH/libibverbs/librodp-* 2>/dev/null
	find /lib/modules /etc/systemd -name 'rodp*' 2>/dev/null)
is "no rodp files, module, DKMS tree or enabled unit left" "$left" ""

# 16: the root's whole file list is what it was.
manifest >"$OUT/manifest.after"
changed=$(diff "$OUT/manifest.before" "$OUT/manifest.after")
if [ -z "$changed" ]; then
	pass "purge leaves the root's file list as before the install"
else
	fail "purge leaves the root's file list as before the install"
	printf '%s\n' "$changed" | head -n 30 | sed 's/^/#   /'
fi

done_testing
