#!/bin/bash
# run one benchmark (or all): bench/run.sh [NAME...]
# Builds a release tree in build-bench, then runs bench/NAME/run.sh when the
# benchmark has one (it needs servers or peers), else the NAME_bench binary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
scripts/build.sh build-bench -Dbuildtype=release
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for d in bench/*/; do names+=("$(basename "$d")"); done
fi
for n in "${names[@]}"; do
	echo "### bench/$n"
	if [ -x "bench/$n/run.sh" ]; then
		"bench/$n/run.sh" build-bench
	else
		"build-bench/bench/$n/${n}_bench"
	fi
	echo
done
