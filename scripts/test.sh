#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh), then runs
#   1. the sanitizer pass: a second build in build-asan/ with -DCARLO_SANITIZE=ON (ASan + UBSan)
#      running the unit tests, the MPI test suites and a few end-to-end runs of the whole
#      scheduler and the plugin tests (dlopen of real plugins into an instrumented carlo; the
#      other end-to-end tests only repeat code paths covered there, several times slower),
#   2. the full test suite of the regular build in build/ (unit, MPI, end-to-end, Slurm, format).
# Exit status is non-zero if anything failed; the last line is the overall ctest-style summary.
# Environment: CARLO_SKIP_SANITIZE=1 skips step 1.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
jobs=$(nproc)
logs=_test-logs
mkdir -p "$logs"
start=$SECONDS

bash scripts/setup.sh

failed=0
summaries=()
# run_ctest NAME DIR CTEST_ARGS...: runs ctest in DIR, logs to $logs/NAME.log, keeps the summary.
run_ctest() {
  local log=$logs/$1.log dir=$2
  shift 2
  local status=0
  ctest --test-dir "$dir" --output-on-failure -j"$jobs" "$@" 2>&1 | tee "$log" || status=$?
  ((status == 0)) || failed=1
  local line
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
  if [[ -z $line ]]; then
    failed=1
    line="0% tests passed, 1 tests failed out of 1"  # ctest itself did not get to run tests
  fi
  summaries+=("$line")
}

if [[ ${CARLO_SKIP_SANITIZE:-0} != 1 ]]; then
  echo "== sanitizer build (ASan + UBSan) in build-asan/"
  CARLO_BUILD_DIR=build-asan bash scripts/setup.sh -DCARLO_SANITIZE=ON
  # Open MPI keeps allocations until exit; the suppressions name its libraries (full unwinding
  # is needed to see them), so leaks in carlo's own code are still reported.
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
  export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/tests/scripts/lsan.supp:fast_unwind_on_malloc=0:print_suppressions=0}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
  run_ctest asan-suites build-asan -L 'unit|mpi' -LE script
  run_ctest asan-runs build-asan -R '^(run[.](exactly_once|retries_and_failures)[.]|surroundings[.]disk_full)'
  run_ctest asan-plugins build-asan -L plugin
  unset ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS
fi

echo "== test suite in build/"
run_ctest main build

failures=0 total=0
for s in "${summaries[@]}"; do
  read -r f t <<<"$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1 \2/' <<<"$s")"
  failures=$((failures + f)) total=$((total + t))
done
passed=$((total - failures))
echo
echo "== carlo tests finished in $((SECONDS - start)) s (logs in $logs/):"
printf '   %s\n' "${summaries[@]}"
if ((failed && failures == 0)); then failures=1 total=$((total + 1)); fi  # e.g. a build failure
echo "$((total ? passed * 100 / total : 0))% tests passed, $failures tests failed out of $total"
exit "$failed"
