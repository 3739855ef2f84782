#!/bin/bash
# bench/fuzz/run.sh BUILD_DIR: the fuzzing report.
#
# Runs every libFuzzer harness for FUZZ_SECONDS each (default 60) through
# tests/fuzz/run.sh (its own clang build, build-fuzz, with ASan, UBSan and
# coverage), or, with FUZZ_BENCH_LAST=1, takes the last run's results as
# they are.  Then, as the reference measured in the same run, replays the
# same corpus through BUILD_DIR's uninstrumented harnesses
# (fuzz_NAME_replay --bench) and prints one table: executions, executions
# per second, coverage, corpus, crashes found (which should be 0), and the
# instrumented rate as a fraction of the plain one.  It measures; it never
# fails on the numbers (a crash is reported in the table, and by
# tests/fuzz/run.sh's own exit status in the test command).
set -uo pipefail
build=${1:?usage: bench/fuzz/run.sh BUILD_DIR}
cd "$(dirname "$0")/../.."
fuzz_build=${FUZZ_BUILD:-build-fuzz}
seconds=${FUZZ_SECONDS:-60}
ref_seconds=${FUZZ_REF_SECONDS:-5}

if [ "${FUZZ_BENCH_LAST:-0}" != 1 ] || [ ! -f "$fuzz_build/fuzz-summary.tsv" ]; then
	FUZZ_BUILD="$fuzz_build" tests/fuzz/run.sh "$seconds" >/dev/null 2>&1
fi
if [ ! -f "$fuzz_build/fuzz-summary.tsv" ]; then
	echo "bench/fuzz: no fuzz summary in $fuzz_build (did tests/fuzz/run.sh build?)" >&2
	exit 0
fi
echo "fuzzing: $(head -1 "$fuzz_build/fuzz-summary.txt" 2>/dev/null)"
echo "reference: the same corpus replayed for ${ref_seconds}s by $build's harnesses (no instrumentation)"
echo
printf '%-14s %6s %12s %10s %7s %8s %8s %13s %9s\n' harness seconds execs "execs/s" cov corpus crashes "plain execs/s" ratio
tail -n +2 "$fuzz_build/fuzz-summary.tsv" | while IFS=$'\t' read -r name secs execs rate cov ft corpus rss crashes; do
	ref=0
	exe="$build/tests/fuzz/fuzz_${name}_replay"
	if [ -x "$exe" ]; then
		ref=$(TMPDIR="${TMPDIR:-/tmp}" "$exe" --bench "$ref_seconds" "$fuzz_build/fuzz-corpus/$name" \
			"tests/fuzz/corpus/$name" 2>/dev/null | sed -n 's/.*execs\/s \([0-9]*\).*/\1/p')
	fi
	ratio=$(awk -v a="$rate" -v b="${ref:-0}" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }')
	printf '%-14s %6s %12s %10s %7s %8s %8s %13s %9s\n' "$name" "$secs" "$execs" "$rate" "$cov" \
		"$corpus" "$crashes" "${ref:--}" "$ratio"
done
echo
echo "execs/s: libFuzzer in the instrumented build (coverage, ASan, UBSan, leak checks per input);"
echo "plain execs/s: the same inputs through $build's code; ratio = instrumented / plain."
exit 0
