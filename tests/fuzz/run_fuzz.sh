#!/bin/sh
# run_fuzz.sh FUZZER SEEDS_TOOL DATA_DIR WORK_DIR [RUNS]
# Fresh corpus in WORK_DIR, seeds from the captures in DATA_DIR, then a
# bounded, reproducible libFuzzer run.  Non-zero exit on any crash, leak,
# sanitizer report or broken invariant (libFuzzer's own exit status).
set -eu
fuzzer=$1 seeds_tool=$2 data=$3 work=$4 runs=${5:-200000}

rm -rf "$work"
mkdir -p "$work/corpus" "$work/seeds"
"$seeds_tool" "$work/seeds" "$data"/*.pcap
exec "$fuzzer" -seed=1 -runs="$runs" -max_total_time=120 -timeout=10 \
	-max_len=2048 -print_final_stats=1 -artifact_prefix="$work/" \
	"$work/corpus" "$work/seeds"
