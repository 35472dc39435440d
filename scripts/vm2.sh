#!/bin/bash
# scripts/vm2.sh [options] -- A-CMD... -- B-CMD...: two guests on a wire.
#
# Starts two QEMU guests at once, each through scripts/vm.sh (its own
# kernel, run folder and kernel-log verdict), joined by one L2 link: a
# virtio-net NIC in each, the two QEMUs exchanging Ethernet frames over
# UDP on 127.0.0.1 (-netdev dgram); no bridge, no route to the host.
# Both guests also mount one read-write host folder (9p tag "wire") at
# the same path, $RODP_WIRE inside them: the rendezvous.
#
# In each guest tests/wire/guest-wrap.sh loads virtio_net, brings eth0 up
# (A 10.78.0.1/24, B 10.78.0.2/24, MTU --mtu), mounts the rendezvous,
# optionally adds a RoCE device on eth0 (--dev-a/--dev-b), then runs the
# guest's command.  When guest A's run ends, the rendezvous gets a file
# "stop" (guest B's tests/wire/agent.sh ends on it).
#
# Exit status: 0 when both guests' commands succeeded with clean kernel
# logs; 1 when only guest A failed, 2 when only guest B failed, 3 when
# both did (each guest's own vm.sh status is printed and kept in
# RUN/result: a=N b=N).
set -eu
. "$(dirname "$0")/lib.sh"

usage()
{
	cat <<'EOF'
usage: ./rodp vm2 [options] -- A-CMD [ARG...] -- B-CMD [ARG...]
  --kernel-a K     guest A's kernel (default 6.1)
  --kernel-b K     guest B's kernel (default newest)
  --dev-a D        rodp, rxe or none: the RoCE device made on A's eth0
                   before A-CMD runs (rodp0 / rxe0; default rodp)
  --dev-b D        the same for guest B (default rodp)
  --mtu N          both NICs' MTU (default 1500)
  --timeout S      guest A's bound (default 900; B gets 60 s more)
  --smp N          vCPUs per guest (default 1)
  --run-dir DIR    the pair's folder (default build/vm/wire/<id>): a/ and
                   b/ are the guests' run folders, shared/ the rendezvous
  --quiet          do not stream guest A's output (B's is never streamed)
Inside the guests: RODP_WIRE (the rendezvous), RODP_WIRE_ROLE (a or b),
RODP_WIRE_IP / RODP_WIRE_PEER_IP, RODP_WIRE_MTU, RODP_WIRE_DEV.
Exit: 0 both passed, 1 guest A failed, 2 guest B failed, 3 both failed.
EOF
	exit 2
}

ka=6.1
kb=newest
deva=rodp
devb=rodp
mtu=1500
timeout=900
smp=1
dir=
quiet=()
while [ $# -gt 0 ]; do
	case $1 in
	--kernel-a)	ka=${2:?}; shift 2 ;;
	--kernel-b)	kb=${2:?}; shift 2 ;;
	--dev-a)	deva=${2:?}; shift 2 ;;
	--dev-b)	devb=${2:?}; shift 2 ;;
	--mtu)		mtu=${2:?}; shift 2 ;;
	--timeout)	timeout=${2:?}; shift 2 ;;
	--smp)		smp=${2:?}; shift 2 ;;
	--run-dir)	dir=${2:?}; shift 2 ;;
	--quiet)	quiet=(--quiet); shift ;;
	--)		shift; break ;;
	-h|--help)	usage ;;
	*)		msg "vm2: unknown option $1"; usage ;;
	esac
done
acmd=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	acmd+=("$1")
	shift
done
[ $# -gt 0 ] || usage
shift
bcmd=("$@")
[ ${#acmd[@]} -gt 0 ] && [ ${#bcmd[@]} -gt 0 ] || usage
for d in "$deva" "$devb"; do
	case $d in
	rodp|rxe|none) ;;
	*) die "vm2: --dev-a/--dev-b want rodp, rxe or none, not '$d'" ;;
	esac
done
case $timeout$mtu in
*[!0-9]*) die "vm2: --timeout and --mtu want numbers" ;;
esac

if [ -z "$dir" ]; then
	mkdir -p "$RODP_VMDIR/wire"
	find "$RODP_VMDIR/wire" -mindepth 1 -maxdepth 1 -type d |
		sort | head -n -30 | xargs -r rm -rf
	dir=$RODP_VMDIR/wire/$(date +%Y%m%d-%H%M%S)-$$
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
[ -z "$(ls -A "$dir")" ] || die "vm2: $dir is not empty"
mkdir -p "$dir/shared"
chmod 1777 "$dir/shared"

# Two free UDP ports on 127.0.0.1, one per guest's end of the wire.
port_free()
{
	! ss -Hlun "sport = :$1" 2>/dev/null | grep -q .
}
while :; do
	pa=$((20000 + RANDOM % 30000))
	pb=$((pa + 1))
	port_free $pa && port_free $pb && break
done

# nic LOCAL REMOTE MAC: the vm.sh options for one guest's end.
nic()
{
	local ep=local.type=inet,local.host=127.0.0.1,local.port=$1
	ep+=,remote.type=inet,remote.host=127.0.0.1,remote.port=$2
	printf '%s\n' --qemu-arg -netdev --qemu-arg "dgram,id=wire0,$ep" \
		--qemu-arg -device \
		--qemu-arg "virtio-net-pci,netdev=wire0,mac=$3,romfile=" \
		--qemu-arg -virtfs --qemu-arg \
		"local,path=$dir/shared,mount_tag=wire,security_model=none,multidevs=remap"
}
mapfile -t nica < <(nic $pa $pb 52:54:00:78:00:01)
mapfile -t nicb < <(nic $pb $pa 52:54:00:78:00:02)

# Both kernels fetched and rodp built for them before either guest boots
# (vm.sh would do it on the way, but guest A waits only so long for B's
# answer: a first run's download and build for B took longer).
for k in "$ka" "$kb"; do
	rodp_kernel_ready "$k" >/dev/null || exit 125
done

wrap=$RODP_ROOT/tests/wire/guest-wrap.sh
export RODP_WIRE=$dir/shared RODP_WIRE_MTU=$mtu

msg "vm2: guest A (kernel $ka, $deva) <-> guest B (kernel $kb, $devb)," \
	"udp 127.0.0.1:$pa <-> :$pb, MTU $mtu; folder $dir"
# B first, quietly; A in the foreground.
RODP_WIRE_ROLE=b RODP_WIRE_DEV=$devb \
RODP_WIRE_IP=10.78.0.2 RODP_WIRE_PEER_IP=10.78.0.1 \
	"$RODP_ROOT/scripts/vm.sh" --kernel "$kb" --need-rodp --no-topology \
	--smp "$smp" --timeout $((timeout + 60)) --run-dir "$dir/b" --quiet \
	"${nicb[@]}" -- "$wrap" "${bcmd[@]}" >"$dir/b.log" 2>&1 &
bpid=$!
trap 'kill $bpid 2>/dev/null; touch "$dir/shared/stop"' EXIT
set +e
RODP_WIRE_ROLE=a RODP_WIRE_DEV=$deva \
RODP_WIRE_IP=10.78.0.1 RODP_WIRE_PEER_IP=10.78.0.2 \
	"$RODP_ROOT/scripts/vm.sh" --kernel "$ka" --need-rodp --no-topology \
	--smp "$smp" --timeout "$timeout" --run-dir "$dir/a" "${quiet[@]}" \
	"${nica[@]}" -- "$wrap" "${acmd[@]}"
ra=$?
touch "$dir/shared/stop"
wait $bpid
rb=$?
trap - EXIT
set -e

printf 'a=%s\nb=%s\n' $ra $rb >"$dir/result"
msg "vm2: guest A exit $ra ($(cat "$dir/a/verdict" 2>/dev/null || echo '?'))"
msg "vm2: guest B exit $rb ($(cat "$dir/b/verdict" 2>/dev/null || echo '?'))"
msg "vm2: runs in $dir/a and $dir/b"
exit $(((ra != 0) + 2 * (rb != 0)))
