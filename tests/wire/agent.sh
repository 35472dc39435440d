#!/bin/bash
# tests/wire/agent.sh: guest B's command in a two-guest run (./rodp vm2).
# Runs each request guest A leaves in $RODP_WIRE/req/N.sh (in order, each
# in the background, with tests/vm/harness/tap.sh and tests/wire/lib.sh
# sourced) and answers in
# $RODP_WIRE/rep/N.{pid,out,rc}; says it is ready with $RODP_WIRE/b.ready;
# ends when $RODP_WIRE/stop appears (guest A's run ended), after the
# requests still running end or are killed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
W=${RODP_WIRE:?not in ./rodp vm2}
mkdir -p "$W/req" "$W/rep"
uname -r >"$W/b.kernel"
touch "$W/b.ready"

next=1
pids=()
while [ ! -e "$W/stop" ]; do
	if [ -f "$W/req/$next.sh" ]; then
		n=$next
		(
			(
				# shellcheck source=tests/vm/harness/tap.sh
				. "$here/../vm/harness/tap.sh"
				# shellcheck source=tests/wire/lib.sh
				. "$here/lib.sh"
				# shellcheck source=/dev/null
				. "$W/req/$n.sh"
			) >"$W/rep/$n.out" 2>&1 </dev/null &
			echo $! >"$W/rep/$n.pid"
			wait $!
			echo $? >"$W/rep/.$n.rc"
			mv "$W/rep/.$n.rc" "$W/rep/$n.rc"
		) &
		pids+=($!)
		next=$((next + 1))
		continue
	fi
	sleep 0.2
done
kill "${pids[@]}" 2>/dev/null
sleep 1
kill -9 "${pids[@]}" 2>/dev/null
exit 0
