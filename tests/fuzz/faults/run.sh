#!/bin/bash
# tests/fuzz/faults/run.sh BUILD_DIR TEST_FILE...: the fault-injection tests
# of the idp daemon (node's test runner).  Each test file makes its own
# worlds and daemons under a temp directory; this script makes that
# directory and a TLS certificate, and removes both (and any tmpfs a test
# left mounted) whatever happens.
set -euo pipefail
build=$(cd "$1" && pwd)
shift
dir=$(mktemp -d /tmp/idp-faults-XXXXXX)
cleanup() {
	# daemons a failed test left running (the tests record their pids)
	if [ -f "$dir/pids" ]; then
		while read -r p; do kill -KILL "$p" 2>/dev/null || true; done <"$dir/pids"
	fi
	# a test that failed half-way may leave mounts and daemons behind
	{ grep -F " $dir/" /proc/mounts || true; } | awk '{print $2}' | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done
	if [ -n "${KEEP_TEST_DIR:-}" ]; then echo "test dir kept: $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
	-keyout "$dir/tls.key" -out "$dir/tls.crt" 2>/dev/null
chmod 600 "$dir/tls.key"
export IDP_BUILD="$build" FAULTS_DIR="$dir"
# thousands of connections need file descriptors, here and in the daemon
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
status=0
node --test --test-reporter=spec "$@" || status=$?
exit $status
