#!/bin/bash
# test: install what is missing, build twice (plain, and with AddressSanitizer
# and UndefinedBehaviorSanitizer), run every test under both.  A sanitizer
# report aborts the test that hit it, so it fails the run.  Then every
# libFuzzer harness runs for FUZZ_SECONDS (default 30) in a clang build
# (tests/fuzz/run.sh); a crash fails the run.  The last lines are the
# summaries, the test runner's (meson test) last.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh test
echo "test: building build-test (plain) and build-asan (address,undefined)"
scripts/build.sh build-test
scripts/build.sh build-asan -Db_sanitize=address,undefined -Db_lundef=false

status=0
for b in build-test build-asan; do
	echo
	echo "=== tests in $b ==="
	meson test -C "$b" --print-errorlogs --num-processes 2 | tee "$b/test-summary.txt" || status=1
done
fuzz_seconds=${FUZZ_SECONDS:-30}
echo
echo "=== fuzzing: every harness for ${fuzz_seconds}s (tests/fuzz/run.sh) ==="
FUZZ_JOBS=${FUZZ_JOBS:-2} tests/fuzz/run.sh "$fuzz_seconds" || status=1
echo
echo "=== summary ==="
if [ -f build-fuzz/fuzz-summary.tsv ]; then
	awk -F'\t' 'NR > 1 { n++; e += $3; c += $9 }
		END { printf "build-fuzz: %d harnesses, %d executions, %d crashes\n", n, e, c }' \
		build-fuzz/fuzz-summary.tsv
fi
# the test runner's summary lines last
for b in build-test build-asan; do
	printf '%s: ' "$b"
	grep -E '^(Ok|Fail|Timeout):' "$b/test-summary.txt" | tr -s ' \n' ' '
	echo
done
exit $status
