#!/bin/bash
# tests/fuzz/run.sh SECONDS [HARNESS...]: run the libFuzzer harnesses.
#
# Builds a clang tree (build-fuzz, or $FUZZ_BUILD) with -Dfuzz=true,
# AddressSanitizer, UndefinedBehaviorSanitizer and coverage instrumentation
# of the whole project, then runs every harness (or those named) for
# SECONDS each, starting from the committed corpus (tests/fuzz/corpus/NAME:
# hand-written seeds and merged finds), every regression input
# (tests/fuzz/regress/NAME) and what earlier runs found
# (BUILD/fuzz-corpus/NAME, kept between runs).  A crash, a sanitizer
# report, a leak, a timeout or a failed property stops that harness and
# leaves the input in BUILD/fuzz-crashes/; the script then says how to
# replay it and exits 1.
#
# To fold what a long run found into the committed corpus:
#   BUILD/tests/fuzz/fuzz_NAME -merge=1 tests/fuzz/corpus/NAME BUILD/fuzz-corpus/NAME
#
# It ends with a table (also in BUILD/fuzz-summary.txt, and as
# tab-separated values in BUILD/fuzz-summary.tsv for bench/fuzz):
# executions, executions per second, coverage, corpus size, crashes.
#
# Environment: FUZZ_BUILD (build dir), FUZZ_JOBS (harnesses at once,
# default 1), FUZZ_TMP (where the request harnesses build their worlds;
# default /dev/shm, else $TMPDIR or /tmp).
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:?usage: tests/fuzz/run.sh SECONDS [HARNESS...]}
shift
build=${FUZZ_BUILD:-build-fuzz}
jobs=${FUZZ_JOBS:-1}
all=(http_params http_request admin_json jwt jwks config rbac otpauth ldap_map)
names=("$@")
[ ${#names[@]} -eq 0 ] && names=("${all[@]}")

if ! command -v clang >/dev/null 2>&1; then
	echo "fuzz: clang is missing (scripts/install-deps.sh test installs it)" >&2
	exit 1
fi
if [ ! -f "$build/build.ninja" ]; then
	echo "fuzz: configuring $build (clang, libFuzzer, ASan, UBSan)"
	CC=clang meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dbuildtype=debugoptimized \
		-Dc_args="-fsanitize=fuzzer-no-link -Wno-format-nonliteral" \
		>"/tmp/fuzz-setup-$$.log" 2>&1 || {
		cat "/tmp/fuzz-setup-$$.log"
		exit 1
	}
	rm -f "/tmp/fuzz-setup-$$.log"
fi
rm -f "$build/fuzz-summary.tsv" "$build/fuzz-summary.txt"
if ! ninja -C "$build" fuzzers >"$build/fuzz-ninja.log" 2>&1; then
	cat "$build/fuzz-ninja.log"
	echo "fuzz: building the harnesses failed" >&2
	exit 1
fi

# the request harnesses' stores live here: memory when there is some (no fsync on disk)
tmp_default=${TMPDIR:-/tmp}
[ -d /dev/shm ] && [ -w /dev/shm ] && tmp_default=/dev/shm
work=$(mktemp -d "${FUZZ_TMP:-$tmp_default}/idp-fuzz-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/fuzz-corpus" "$build/fuzz-crashes" "$build/fuzz-logs"

# One harness: libFuzzer's own loop, its final statistics into a line of
# the summary.  UBSan findings are crashes (halt_on_error), leaks too.
run_one() {
	local name=$1 exe="$build/tests/fuzz/fuzz_$1" corpus="$build/fuzz-corpus/$1"
	local log="$build/fuzz-logs/$1.log" args=() rc=0 before after
	mkdir -p "$corpus" "$work/$1"
	[ -f "tests/fuzz/dict/$1.dict" ] && args+=("-dict=tests/fuzz/dict/$1.dict")
	case $1 in
	http_request | admin_json) args+=(-max_len=8192) ;;
	jwt | jwks) args+=(-max_len=16384) ;;
	*) args+=(-max_len=4096) ;;
	esac
	before=$(find "$build/fuzz-crashes" -name "$1-*" | wc -l)
	# in a subshell, so that the shell's note about a child killed by a signal goes to the log
	(
		export TMPDIR="$work/$1" \
			ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:handle_abort=1 \
			UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
		"$exe" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
			-print_final_stats=1 -artifact_prefix="$build/fuzz-crashes/$1-" "${args[@]}" \
			"$corpus" "tests/fuzz/corpus/$1" "tests/fuzz/regress/$1"
		exit $? # (not the last command: bash would exec it, and report the signal itself)
	) >"$log" 2>&1 || rc=$?
	after=$(find "$build/fuzz-crashes" -name "$1-*" | wc -l)
	local execs rate cov ft units rss crashes=$((after - before))
	[ $rc -ne 0 ] && [ $crashes -eq 0 ] && crashes=1
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
	ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
	units=$(find "$corpus" -type f | wc -l)
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$seconds" "${execs:-0}" \
		"${rate:-0}" "${cov:-0}" "${ft:-0}" "$units" "${rss:-0}" "$crashes" \
		>"$work/$1.tsv"
}

echo "fuzz: ${#names[@]} harness(es), ${seconds}s each, $jobs at a time (logs in $build/fuzz-logs)"
running=0
for n in "${names[@]}"; do
	if [ ! -x "$build/tests/fuzz/fuzz_$n" ]; then
		echo "fuzz: no harness named $n" >&2
		exit 2
	fi
	run_one "$n" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n || true
		running=$((running - 1))
	fi
done
wait || true

{
	printf 'harness\tseconds\texecs\texecs/s\tcov\tfeatures\tcorpus\tpeak_rss_mb\tcrashes\n'
	for n in "${names[@]}"; do cat "$work/$n.tsv"; done
} >"$build/fuzz-summary.tsv"
{
	echo "fuzz run $(date -u +%Y-%m-%dT%H:%M:%SZ), ${seconds}s per harness"
	awk -F'\t' 'NR == 1 { printf "%-14s %8s %12s %9s %7s %9s %7s %8s %8s\n", $1, $2, $3, $4, $5, $6, $7, "rss_MB", $9; next }
		{ printf "%-14s %8s %12s %9s %7s %9s %7s %8s %8s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9; t += $3; c += $9 }
		END { printf "%-14s %8s %12d %9s %7s %9s %7s %8s %8d\n", "total", "", t, "", "", "", "", "", c }' \
		"$build/fuzz-summary.tsv"
} | tee "$build/fuzz-summary.txt"

crashed=$(awk -F'\t' 'NR > 1 && $9 > 0 { print $1 }' "$build/fuzz-summary.tsv")
if [ -n "$crashed" ]; then
	echo
	for n in $crashed; do
		echo "fuzz: $n crashed; the end of its log ($build/fuzz-logs/$n.log):"
		grep -E 'ERROR|runtime error|fuzz property|SUMMARY|Test unit written' "$build/fuzz-logs/$n.log" | head -8 | sed 's/^/    /'
	done
	echo "replay an input with: $build/tests/fuzz/fuzz_NAME FILE; once fixed, keep it as a"
	echo "regression: cp FILE tests/fuzz/regress/NAME/ (the fuzz-replay tests run it in every build)"
	exit 1
fi
