#!/bin/bash
# Host-side check of librodp-rdmav<ABI>.so without rodp.ko: libibverbs is shown
# a fake sysfs (SYSFS_PATH) with rodp, rxe and broken devices, in a private
# mount namespace where /etc/libibverbs.d is empty and /dev/infiniband holds
# placeholder files.  Checks that the provider loads without warnings,
# claims exactly the devices whose rodp_abi attribute reads our ABI, and
# fails ibv_open_device cleanly when the "kernel" does not answer.
#
# Usage: check-match.sh <build dir of the provider>
# Exit status: 0 pass, 1 fail, 77 cannot run here (not root / no unshare).
set -eu

prov_dir=$(cd "$1" && pwd)
so=$(compgen -G "$prov_dir/librodp-rdmav*.so" | head -n 1)
[ -f "$so" ] || { echo "not ok - no librodp-rdmav*.so in $prov_dir"; exit 1; }

if [ "${RODPU_IN_NS:-}" != 1 ]; then
	if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null ||
	   ! unshare -m true 2>/dev/null; then
		echo "# SKIP: needs root and mount namespaces (unshare -m)"
		exit 77
	fi
	RODPU_IN_NS=1 exec unshare -m "$0" "$@"
fi

work=$(mktemp -d)
cleanup() {
	umount /etc/libibverbs.d /dev/infiniband "$work/dev" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
mount --make-rprivate /

sys=$work/sys
mkdir -p "$sys/class/infiniband_verbs" "$sys/class/infiniband" \
	"$work/etc" "$work/dev"
echo 6 > "$sys/class/infiniband_verbs/abi_version"

mount -t tmpfs none "$work/dev"

# fake_dev UVERBS IBDEV UVERBS_ABI [RODP_ABI]
fake_dev() {
	local uv=$sys/class/infiniband_verbs/$1 ib=$sys/class/infiniband/$2
	mkdir -p "$uv" "$ib"
	echo "$2" > "$uv/ibdev"
	echo "231:$((192 + ${1#uverbs}))" > "$uv/dev"
	echo "$3" > "$uv/abi_version"
	echo "1: CA" > "$ib/node_type"
	[ $# -lt 4 ] || printf '%s\n' "$4" > "$ib/rodp_abi"
	: > "$work/dev/$1"
}
fake_dev uverbs0 rodp0 1 1		# ours
fake_dev uverbs1 rxe0 2			# rxe: no rodp_abi
fake_dev uverbs2 fancy7 1 1		# ours, whatever the name
fake_dev uverbs3 rodpnew 1 2		# newer rodp ABI
fake_dev uverbs4 rodpbad 1 1x		# unparsable attribute
fake_dev uverbs5 rodpold 2 1		# uverbs ABI mismatch
# rodp0's "uverbs device" is /dev/null: commands vanish, answers are empty.
echo 1:3 > "$sys/class/infiniband_verbs/uverbs0/dev"
rm "$work/dev/uverbs0"
mknod "$work/dev/uverbs0" c 1 3

mount --bind "$work/etc" /etc/libibverbs.d 2>/dev/null ||
	{ echo "# SKIP: no /etc/libibverbs.d to hide"; exit 77; }
mkdir -p /dev/infiniband 2>/dev/null || true
mount --bind "$work/dev" /dev/infiniband

export SYSFS_PATH=$sys RDMAV_DRIVERS=$prov_dir/librodp IBV_SHOW_WARNINGS=1
fail=0
n=0
check() {
	n=$((n + 1))
	if "$@"; then echo "ok $n - ${desc}"; else echo "not ok $n - ${desc}"; fail=1; fi
}

out=$(ibv_devices 2>"$work/err") || true
devs=$(printf '%s\n' "$out" | awk 'NR > 2 { print $1 }' | sort | tr '\n' ' ')
err=$(cat "$work/err")
printf '%s\n' "$err" | sed 's/^/# stderr: /'

desc="provider loads (no 'couldn't load driver')"
check eval '! printf "%s" "$err" | grep -q "load driver"'
desc="rodp devices claimed, others not (got: $devs)"
check test "$devs" = "fancy7 rodp0 "
desc="rxe0 left alone"
check eval 'printf "%s" "$err" | grep -q "no userspace device-specific driver found for rxe0"'
desc="newer rodp ABI reported and refused"
check eval 'printf "%s" "$err" | grep -q "rodpnew speaks rodp ABI 2"'
desc="unparsable rodp_abi refused"
check eval 'printf "%s" "$err" | grep -q "driver found for rodpbad"'
desc="uverbs ABI mismatch refused by libibverbs"
check eval 'printf "%s" "$err" | grep -q "does not support the kernel ABI of 2"'

# Opening rodp0: GET_CONTEXT gets no valid answer, so alloc_context must
# fail cleanly, saying why.
set +e
VERBS_LOG_LEVEL=1 VERBS_LOG_FILE=/dev/stderr ibv_devinfo -d rodp0 >"$work/out" 2>&1
rc=$?
set -e
sed 's/^/# devinfo: /' "$work/out"
desc="ibv_devinfo on a dead rodp0 fails without crashing (rc=$rc)"
check test "$rc" -gt 0 -a "$rc" -lt 128
desc="alloc_context refuses the empty GET_CONTEXT answer"
check grep -q "rodp: rodp0: .*kernel speaks rodp ABI 0" "$work/out"

exit $fail
