# bench/fuzz/run.sh BUILD_DIR: the fuzzing report.
#
# Runs every libFuzzer harness for FUZZ_SECONDS each (default 60) through
# tests/fuzz/run.sh (its own clang build, build-fuzz, with ASan, UBSan and
# coverage), or, with FUZZ_BENCH_LAST=1, takes the last run's results as
# they are.  Then, as the reference measured in the same run, it replays
# the same corpus for FUZZ_REF_SECONDS (default 5) through the same code
# twice: instrumented (build-fuzz's fuzz_NAME_replay) and plain
# (BUILD_DIR's, e.g. a release build).  One table: executions, executions
# per second while fuzzing, coverage, corpus, crashes found (which should
# be 0), and the replay rates with their ratio (what the instrumentation
# costs).  It measures; it never fails on the numbers (a crash shows in
# the table, and in tests/fuzz/run.sh's exit status in the test command).
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
echo "replays: the corpus in a loop for ${ref_seconds}s, instrumented ($fuzz_build) and plain ($build)"
echo
printf '%-13s %5s %11s %9s %6s %7s %7s %12s %12s %7s\n' harness secs execs "execs/s" cov corpus crashes \
	"replay instr" "replay plain" cost
replay() { # EXE NAME: execs/s of the corpus replayed by EXE, or -
	[ -x "$1" ] || { echo -; return; }
	TMPDIR=/dev/shm "$1" --bench "$ref_seconds" "$fuzz_build/fuzz-corpus/$2" "tests/fuzz/corpus/$2" \
		2>/dev/null | sed -n 's/.*execs\/s \([0-9]*\).*/\1/p'
}
tail -n +2 "$fuzz_build/fuzz-summary.tsv" | while IFS=$'\t' read -r name secs execs rate cov ft corpus rss crashes; do
	instr=$(replay "$fuzz_build/tests/fuzz/fuzz_${name}_replay" "$name")
	plain=$(replay "$build/tests/fuzz/fuzz_${name}_replay" "$name")
	cost=$(awk -v a="${instr:-0}" -v b="${plain:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.1fx", b / a; else print "-" }')
	printf '%-13s %5s %11s %9s %6s %7s %7s %12s %12s %7s\n' "$name" "$secs" "$execs" "$rate" "$cov" \
		"$corpus" "$crashes" "${instr:--}" "${plain:--}" "$cost"
done
echo
echo "execs/s: libFuzzer while fuzzing (coverage, ASan, UBSan, a leak check per input that allocates"
echo "more than it frees); replay: the same corpus run in a loop; cost = plain / instrumented."
exit 0
