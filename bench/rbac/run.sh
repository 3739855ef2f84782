#!/bin/bash
# bench/rbac/run.sh BUILD_DIR [rbac_bench options...]
# The evaluator at tenant scale (index build, memory, checks/s, p50/p99, load
# from a real store), then casbin on the same data and requests, with the
# ratio.  Environment: CASBIN_SECONDS (default 30) caps casbin's run;
# RBAC_BENCH_TMP (default /tmp) holds the store and casbin's files.
# Measures; never fails on time.
set -euo pipefail
build=${1:?usage: bench/rbac/run.sh BUILD_DIR [rbac_bench options...]}
shift
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${RBAC_BENCH_TMP:-/tmp}/rbac-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT
if [ ! -d "$here/node_modules/casbin" ]; then
	(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
"$build/bench/rbac/rbac_bench" --store "$work/store.db" --casbin-dir "$work/casbin" "$@"
node "$here/casbin_bench.mjs" "$work/casbin" "${CASBIN_SECONDS:-30}"
