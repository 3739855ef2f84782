#!/bin/bash
# test: install what is missing, build twice (plain, and with AddressSanitizer
# and UndefinedBehaviorSanitizer), run every test under both.  A sanitizer
# report aborts the test that hit it, so it fails the run.  The last lines
# are the test runner's summaries.
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
echo
echo "=== summary ==="
for b in build-test build-asan; do
	printf '%s: ' "$b"
	grep -E '^(Ok|Fail|Timeout):' "$b/test-summary.txt" | tr -s ' \n' ' '
	echo
done
exit $status
