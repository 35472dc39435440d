# shellcheck shell=bash
# perftest/lib.sh: run one perftest (or ibv_*_pingpong) server/client
# pair inside the test guest and read its result.  Sourced by
# perftest/bench-guest.sh (`./rodp bench`) and the VM suite
# tests/vm/suites/60-perftest.sh.
#
# The default topology (tests/vm/harness/topology.sh) gives three ends:
#   rodp0 in netns ns0 (10.77.0.10), rodp1 in ns1 (10.77.0.11),
#   rxe0 in the initial namespace (10.77.0.2; rxe on 6.1 works only there).
# A namespace is named "-" for the initial one.
#
# pt_pair ID SRV_NS SRV_DEV CLI_NS CLI_DEV ADDR TOOL [ARG...]
#   starts "TOOL -d SRV_DEV -x GID -p PORT ARG..." in SRV_NS, waits until
#   it listens on PORT, runs "TOOL -d CLI_DEV -x GID -p PORT ARG... ADDR"
#   in CLI_NS, then waits for the server to end; each side pinned to its
#   own CPU (PT_CPUS).  GID is the device's first RoCE v2 IPv4 GID (read
#   from sysfs; its first IPv6 one with PT_FAMILY=6), -g instead of -x
#   for ibv_*_pingpong; PORT is new for
#   every pair (PT_PORT counts up), so a server left behind
#   never answers the next client.  Both sides run under
#   `timeout $PT_TIMEOUT` (default 120 s).  The outputs stay in
#   $PT_DIR/ID.server and $PT_DIR/ID.client; PT_SRC and PT_CRC are the
#   two exit statuses (124: timed out).  Succeeds when both are 0; else
#   PT_WHY says what went wrong in one line.  A pair spoilt only
#   because perftest could not measure the CPU clock is run again
#   (PT_RETRIED; see pt_clock_flake).
#
# pt_bw FILE / pt_lat FILE / pt_pingpong FILE print the result lines of
# a perftest BW test ("SIZE ITERS BW_PEAK BW_AVG MSGRATE", MB/s as
# perftest prints them: 2^20 bytes per second), of a perftest latency test
# ("SIZE ITERS T_MIN T_MAX T_TYPICAL T_AVG", usec) or of ibv_*_pingpong
# ("ITERS SECONDS USEC_PER_ITER"), one per line, nothing when there is
# none.

# shellcheck disable=SC2034 # PT_* results are read by the callers
PT_TIMEOUT=${PT_TIMEOUT:-120}
# The client runs on one CPU and the server on another ("CLIENT,SERVER";
# empty: anywhere).  perftest times with the TSC, and under TCG the
# guest's vCPUs do not agree on it ("Marking TSC unstable due to TSCs
# unsynchronized" at boot): a process that moves between CPUs in the
# middle of a measurement gets nonsense times, and perftest's own clock
# calibration fails (see pt_clock_flake).
if [ -z "${PT_CPUS+set}" ]; then
	PT_CPUS=
	[ "$(nproc 2>/dev/null || echo 1)" -lt 2 ] || PT_CPUS=0,1
fi
PT_DIR=${PT_DIR:-/tmp/perftest}
PT_PORT=${PT_PORT:-18600}
PT_SRC=
PT_CRC=
PT_WHY=
PT_RC=
PT_RETRIED=0

# pt_gid DEV: index of DEV's first RoCE v2 GID that maps an IPv4 address
# (with PT_FAMILY=6: that is an IPv6 address).
PT_FAMILY=${PT_FAMILY:-4}
pt_gid()
{
	local port=/sys/class/infiniband/$1/ports/1 f i fam

	for f in "$port"/gids/*; do
		[ -e "$f" ] || continue
		i=${f##*/}
		case $(cat "$f" 2>/dev/null) in
		0000:0000:0000:0000:0000:ffff:*) fam=4 ;;
		0000:0000:0000:0000:0000:0000:0000:0000|'') continue ;;
		*) fam=6 ;;
		esac
		[ "$fam" = "$PT_FAMILY" ] || continue
		[ "$(cat "$port/gid_attrs/types/$i" 2>/dev/null)" = "RoCE v2" ] ||
			continue
		printf '%s\n' "$i"
		return 0
	done
	return 1
}

# pt_in NS CMD...: CMD in network namespace NS ("-": the initial one).
pt_in()
{
	local ns=$1
	shift
	if [ "$ns" = - ]; then
		"$@"
	else
		ip netns exec "$ns" "$@"
	fi
}

# pt_listening PID PORT: the process PID started (timeout, whose child
# is the tool, in its namespace) listens on TCP PORT.  Read from the
# child's /proc/PID/net, which shows the child's network namespace: no
# `ip netns exec ss` (a second or two each on a busy TCG guest).
pt_listening()
{
	local kid

	kid=
	# (one line, without a newline: read fails but sets kid)
	read -r kid _ <"/proc/$1/task/$1/children" 2>/dev/null
	[ -n "$kid" ] && pt_pid_listening "$kid" "$2"
}

# pt_pid_listening PID PORT: process PID itself listens on TCP PORT (in
# its own network namespace).
pt_pid_listening()
{
	local port laddr st f

	printf -v port ':%04X' "$2"
	for f in "/proc/$1/net/tcp" "/proc/$1/net/tcp6"; do
		# sl local_address rem_address st ...; st 0A is LISTEN
		while read -r _ laddr _ st _; do
			[ "$st" = 0A ] && [ "${laddr%"$port"}" != "$laddr" ] &&
				return 0
		done <"$f" 2>/dev/null
	done
	return 1
}

# pt_alive PID: process PID still runs.
pt_alive()
{
	kill -0 "$1" 2>/dev/null
}

# pt_reap PID SECONDS: wait up to SECONDS for PID to end, then kill it
# (TERM, then KILL; one stuck in the kernel is left behind); sets PT_RC
# to its exit status (124 when it had to be killed).  Not in a subshell:
# only this shell can wait for PID.
pt_reap()
{
	local pid=$1 deadline=$((SECONDS + $2)) kids

	while pt_alive "$pid" && [ $SECONDS -lt "$deadline" ]; do
		sleep 0.2
	done
	if pt_alive "$pid"; then
		kids=
		read -r kids <"/proc/$pid/task/$pid/children" 2>/dev/null
		kill "$pid" 2>/dev/null
		sleep 1
		# shellcheck disable=SC2086 # kids is a list of pids
		kill -9 "$pid" $kids 2>/dev/null
		# A task stuck in the kernel cannot die: leave it behind.
		deadline=$((SECONDS + 5))
		while pt_alive "$pid" && [ $SECONDS -lt $deadline ]; do
			sleep 0.2
		done
		pt_alive "$pid" || wait "$pid" 2>/dev/null
		PT_RC=124
		return
	fi
	wait "$pid"
	PT_RC=$?
}

# pt_reason FILE: one line saying why a side failed, from its output.
pt_reason()
{
	local line

	line=$(grep -m 1 -iE "couldn't|failed|unable|error|not supported|\
invalid|no such|refused|timed? ?out|can't" "$1" 2>/dev/null)
	[ -n "$line" ] || line=$(grep -v '^[[:space:]]*$' "$1" 2>/dev/null |
		tail -n 1)
	printf '%s\n' "$(tr -s ' \t' ' ' <<<"${line:-no output}" |
		sed 's/^ //' | cut -c 1-100)"
}

pt_pair_once()
{
	local id=$1 sns=$2 sdev=$3 cns=$4 cdev=$5 addr=$6 tool=$7
	local sgid cgid gflag=-x port spid cpid qpid deadline out spre cpre
	local PT_RC
	shift 7

	mkdir -p "$PT_DIR"
	out=$PT_DIR/$id
	: >"$out.server"
	: >"$out.client"
	PT_SRC=- PT_CRC=- PT_WHY=
	case $tool in
	ibv_*_pingpong) gflag=-g ;;
	esac
	if ! sgid=$(pt_gid "$sdev"); then
		PT_WHY="$sdev: no such device or no RoCE v2 IPv4 GID"
		return 1
	fi
	if ! cgid=$(pt_gid "$cdev"); then
		PT_WHY="$cdev: no such device or no RoCE v2 IPv4 GID"
		return 1
	fi
	port=$PT_PORT
	PT_PORT=$((PT_PORT + 1))

	spre=()
	[ "$sns" = - ] || spre=(ip netns exec "$sns")
	cpre=()
	[ "$cns" = - ] || cpre=(ip netns exec "$cns")
	if [ -n "$PT_CPUS" ]; then
		spre+=(taskset -c "${PT_CPUS#*,}")
		cpre+=(taskset -c "${PT_CPUS%,*}")
	fi

	timeout -k 5 "$PT_TIMEOUT" "${spre[@]}" \
		"$tool" -d "$sdev" "$gflag" "$sgid" -p "$port" "$@" \
		</dev/null >"$out.server" 2>&1 &
	spid=$!
	deadline=$((SECONDS + 30))
	while ! pt_listening $spid "$port"; do
		if ! pt_alive $spid || [ $SECONDS -ge $deadline ]; then
			pt_reap $spid 0
			PT_SRC=$PT_RC
			PT_WHY="server never listened (exit $PT_SRC):"
			PT_WHY+=" $(pt_reason "$out.server")"
			return 1
		fi
		sleep 0.2
	done

	# In the background: a client stuck in the kernel (which neither
	# timeout nor anything else can kill) must not hold up the caller.
	timeout -k 5 "$PT_TIMEOUT" "${cpre[@]}" \
		"$tool" -d "$cdev" "$gflag" "$cgid" -p "$port" "$@" "$addr" \
		</dev/null >"$out.client" 2>&1 &
	cpid=$!
	# Just before the timeout strikes: the QPs' transport state, to see
	# why a pair that hangs does not move (rdma resource show qp -dd),
	# and every device's hw counters (sysfs, this namespace's devices:
	# rodp's and rxe's alike), as DEV/COUNTER VALUE lines.  Its output
	# is not the caller's: an orphaned sleep must not hold a pipe open.
	{
		sleep $((PT_TIMEOUT > 5 ? PT_TIMEOUT - 3 : 1))
		rdma resource show qp -dd >"$out.qp" 2>&1
		grep -H . /sys/class/infiniband/*/ports/1/hw_counters/* \
			2>/dev/null | sed -e 's|^/sys/class/infiniband/||' \
			-e 's|/ports/1/hw_counters/|/|' -e 's|:| |' \
			>>"$out.qp"
	} </dev/null >/dev/null 2>&1 &
	qpid=$!
	pt_reap $cpid $((PT_TIMEOUT + 10))
	PT_CRC=$PT_RC
	pkill -P $qpid 2>/dev/null
	kill $qpid 2>/dev/null
	wait $qpid 2>/dev/null
	# The server ends right after the client; when the client failed it
	# may wait for a peer that is gone.
	if [ "$PT_CRC" = 0 ]; then
		pt_reap $spid 30
	else
		pt_reap $spid 5
	fi
	PT_SRC=$PT_RC
	if [ "$PT_CRC" != 0 ]; then
		PT_WHY="client exit $PT_CRC: $(pt_reason "$out.client")"
		[ "$PT_CRC" != 124 ] ||
			PT_WHY="client timed out (${PT_TIMEOUT}s; QPs: $id.qp)"
		# The server, started first, reaches its own timeout first:
		# the client then fails on a peer that is gone.
		[ "$PT_CRC" = 124 ] || [ "$PT_SRC" != 124 ] ||
			PT_WHY="server timed out (${PT_TIMEOUT}s), then $PT_WHY"
		return 1
	fi
	if [ "$PT_SRC" != 0 ]; then
		PT_WHY="server exit $PT_SRC: $(pt_reason "$out.server")"
		[ "$PT_SRC" != 124 ] || PT_WHY="server did not end"
		return 1
	fi
	return 0
}

# perftest 4.5 measures the CPU clock against gettimeofday() for every
# report and gives up when the two do not line up ("Correlation
# coefficient r^2: ... < 0.9"): a BW test then prints "Can't produce a
# report" and exits 1, a latency test prints "inf" for every time and
# exits 0.  Under TCG that happens now and then, more often when the
# machine is busy (a vCPU descheduled between the two clock reads spoils
# the fit) and in an -a sweep (one measurement per size).  It says
# nothing about the transfer, which has completed by then: pt_pair runs
# such a pair again, up to PT_CLOCK_TRIES times in all (default 3), and
# sets PT_RETRIED to the number of extra runs; the earlier outputs stay
# as ID.client.tryN and ID.server.tryN.
PT_CLOCK_TRIES=${PT_CLOCK_TRIES:-3}

pt_clock_flake()
{
	grep -q "Correlation coefficient r^2" "$PT_DIR/$1.client" \
		"$PT_DIR/$1.server" 2>/dev/null
}

pt_pair()
{
	local try=1 rc

	PT_RETRIED=0
	PT_TIMEDOUT=0
	while :; do
		pt_pair_once "$@"
		rc=$?
		# A client that timed out gets one more run; the case says so
		# (a known intermittent stall under TCG, kept in *.timeout).
		# So does a client that failed after the server's timeout.
		if [ $rc -ne 0 ] && [ "$PT_TIMEDOUT" = 0 ] &&
		   [ "${PT_CRC:-0}" != 0 ] &&
		   { [ "$PT_CRC" = 124 ] || [ "${PT_SRC:-0}" = 124 ]; }; then
			PT_TIMEDOUT=1
			mv "$PT_DIR/$1.client" "$PT_DIR/$1.client.timeout"
			mv "$PT_DIR/$1.server" "$PT_DIR/$1.server.timeout"
			continue
		fi
		pt_clock_flake "$1" || return $rc
		if [ $try -ge "$PT_CLOCK_TRIES" ]; then
			PT_WHY="perftest could not measure the CPU clock"
			PT_WHY+=" (r^2 < 0.9), $try times"
			return 1
		fi
		mv "$PT_DIR/$1.client" "$PT_DIR/$1.client.try$try"
		mv "$PT_DIR/$1.server" "$PT_DIR/$1.server.try$try"
		PT_RETRIED=$try
		try=$((try + 1))
	done
}

# pt_number WORD: WORD is a plain decimal number (not inf, nan, -nan).
pt_number()
{
	[[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]
}

# Result lines.  perftest prints a header line ("#bytes #iterations ...")
# and under it one line of numbers per message size.
pt_bw()
{
	awk '/#bytes/ && /BW average/ { on = 1; next }
	     on && /^-+/ { on = 0 }
	     on && $1 ~ /^[0-9]+$/ && NF >= 5 { print $1, $2, $3, $4, $5 }' \
		"$1" 2>/dev/null
}

pt_lat()
{
	awk '/#bytes/ && /t_typical/ { on = 1; next }
	     on && /^-+/ { on = 0 }
	     on && $1 ~ /^[0-9]+$/ && NF >= 7 {
		print $1, $2, $3, $4, $5, $6
	     }' "$1" 2>/dev/null
}

# ibv_rc_pingpong: "1000 iters in 0.12 seconds = 120.00 usec/iter"
pt_pingpong()
{
	awk '$2 == "iters" && $3 == "in" && $6 == "=" { print $1, $4, $7 }' \
		"$1" 2>/dev/null
}
