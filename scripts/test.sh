#!/usr/bin/env bash
# Installs the missing packages (scripts/setup.sh --packages-only), then runs
#   1. the sanitizer pass: a second build in build-asan/ with -DCARLO_SANITIZE=ON (ASan + UBSan)
#      running the unit tests, the MPI test suites and a few end-to-end runs of the whole
#      scheduler and the plugin tests (dlopen of real plugins into an instrumented carlo; the
#      other end-to-end tests only repeat code paths covered there, several times slower),
#   2. the fuzz pass: the libFuzzer targets of tests/fuzz/ built by clang in build-fuzz/
#      (scripts/fuzz.sh), each fuzzing its reader for 20 s from the committed seed corpus,
#   3. the build of build/ (scripts/setup.sh) and its full test suite (unit, MPI, end-to-end, Slurm,
#      format),
#   4. when run as root: the MPI test suites and a few end-to-end runs again as the unprivileged
#      system user carlo-test (made here if absent), since clusters never run carlo as root.
# Exit status is non-zero if anything failed; the last line is the overall ctest-style summary,
# after each step's wall and CPU seconds.
# Environment: CARLO_SKIP_SANITIZE=1 skips step 1, CARLO_SKIP_FUZZ=1 step 2,
# CARLO_SKIP_UNPRIVILEGED=1 step 4.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
jobs=$(nproc)
logs=_test-logs
mkdir -p "$logs"
start=$SECONDS

# Each step's wall seconds and its processes' CPU seconds (user + sys of the children waited for,
# from the shell's `times`: less disturbed by other load than wall time; daemons such as Slurm's are
# not counted), printed in the final summary: where the test command's time goes.
durations=()
# children_cpu: sets cpu_now to the user + sys seconds of this shell's finished children so far.
# Not in a pipeline nor $(...): a subshell's `times` knows none of these children.
children_cpu() {
  times >"$logs/.times"
  cpu_now=$(tail -n 1 "$logs/.times" | awk '{
    t = 0
    for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }
    printf "%d", t
  }')
}
children_cpu
step_start=$SECONDS step_cpu=$cpu_now
# step_done NAME: records the time since the previous step_done (or the start) as step NAME.
step_done() {
  children_cpu
  durations+=("$(printf '%-13s %5d s wall %6d s CPU' "$1" $((SECONDS - step_start)) $((cpu_now - step_cpu)))")
  step_start=$SECONDS step_cpu=$cpu_now
}

bash scripts/setup.sh --packages-only
step_done setup

# Every build here is cold on a fresh clone: unity builds (8 sources per compiler run) halve their
# CPU time (a cold build/: 273 s of user+sys instead of 543 s), since most of a source's compile is
# parsing the same standard, gtest, Boost and HDF5 headers. build/ stays a unity build afterwards
# (CMake caches it; `bash scripts/setup.sh -DCMAKE_UNITY_BUILD=OFF` turns it back).
unity=(-DCMAKE_UNITY_BUILD=ON)

failed=0
summaries=()
as_user=()  # a command prefix running ctest as another user (step 4)
# run_ctest NAME DIR CTEST_ARGS...: runs ctest in DIR, logs to $logs/NAME.log, keeps the summary.
run_ctest() {
  local log=$logs/$1.log dir=$2
  shift 2
  local status=0
  "${as_user[@]}" ctest --test-dir "$dir" --output-on-failure -j"${ctest_jobs:-$jobs}" "$@" 2>&1 |
    tee "$log" ||
    status=$?
  ((status == 0)) || failed=1
  local line
  line=$(grep -a -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
  if [[ -z $line ]]; then
    failed=1
    line="0% tests passed, 1 tests failed out of 1"  # ctest itself did not get to run tests
  fi
  summaries+=("$line")
}

if [[ ${CARLO_SKIP_SANITIZE:-0} != 1 ]]; then
  echo "== sanitizer build (ASan + UBSan) in build-asan/"
  CARLO_BUILD_DIR=build-asan bash scripts/setup.sh -DCARLO_SANITIZE=ON -DCARLO_BUILD_BENCH=OFF \
    -DCARLO_PYTHON=OFF "${unity[@]}"
  step_done "asan build"
  # Open MPI keeps allocations until exit; the suppressions name its libraries (full unwinding
  # is needed to see them), so leaks in carlo's own code are still reported.
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
  export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/tests/scripts/lsan.supp:fast_unwind_on_malloc=0:print_suppressions=0}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
  # Not the >2^31-byte message test (54 s under ASan): the regular suite runs it.
  run_ctest asan-suites build-asan -L 'unit|mpi' -LE script -E 'large_messages'
  run_ctest asan-runs build-asan -R '^(run[.](exactly_once|retries_and_failures)[.]|surroundings[.]disk_full)'
  # Not the two that rebuild a plugin to show it refused (35 s, no new code path under ASan).
  run_ctest asan-plugins build-asan -L plugin -E 'refuses_another_build'
  step_done "asan tests"
  unset ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS
fi

if [[ ${CARLO_SKIP_FUZZ:-0} != 1 ]]; then
  if command -v clang++ >/dev/null && command -v clang >/dev/null; then
    echo "== fuzz pass (libFuzzer + ASan + UBSan, clang) in build-fuzz/"
    bash scripts/fuzz.sh --build-only
    step_done "fuzz build"
    run_ctest fuzz build-fuzz -L fuzz  # one single-threaded fuzzer per core
    step_done "fuzz run"
  else
    echo "== fuzz pass SKIPPED: no clang/clang++ (scripts/setup.sh installs them)"
  fi
fi

echo "== build/ (scripts/setup.sh)"
bash scripts/setup.sh "${unity[@]}"
step_done "main build"
echo "== test suite in build/"
# One slot more than cores: the Slurm cases take one slot each and mostly wait
# (tests/scripts/slurm.cmake), so they run beside the other tests instead of between them.
ctest_jobs=$((jobs + 1)) run_ctest main build
step_done "main tests"

# prepare_test_user USER TREE: makes the system user USER if absent and lets it read TREE, which
# may sit under a home directory of mode 0700 on a fresh clone: ACL entries for USER alone, on the
# directories above TREE it cannot enter and on TREE if it cannot read all of it.
prepare_test_user() {
  local user=$1 tree=$2 dir above=()
  if [[ ! -f $tree/scripts/test.sh ]]; then
    echo "prepare_test_user: $tree is not a carlo checkout" >&2
    return 1
  fi
  id -u "$user" &>/dev/null ||
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user" ||
    return 1
  dir=$tree
  while [[ $dir != / ]]; do
    dir=$(dirname "$dir")
    above=("$dir" "${above[@]}")
  done
  for dir in "${above[@]}"; do  # top down: each test needs the one above it
    runuser -u "$user" -- test -x "$dir" || setfacl -m "u:$user:x" "$dir" || return 1
  done
  if [[ -n $(runuser -u "$user" -- find "$tree" ! -readable -print -quit 2>&1) ]]; then
    setfacl -R -m "u:$user:rX" "$tree" || return 1
  fi
}

# user_ctest_tree USER: prints a new directory owned by USER holding a copy of build/'s
# CTestTestfile.cmake files. ctest writes its logs next to them and runs each test in their
# directory; the tests' commands name the build and source trees by absolute path, so the copy
# gives the user a tree of its own to write in.
user_ctest_tree() {
  local tree
  tree=$(mktemp -d /tmp/carlo-test-user.XXXXXX) || return 1
  (cd build && find . -name CTestTestfile.cmake -exec cp --parents {} "$tree" \;) &&
    chown -R "$1": "$tree" && echo "$tree"
}

# Step 4: what a cluster user runs, as one. The MPI suites (not the >2 GiB messages one: plain
# MPI traffic, minutes long, nothing a user id changes), runs through the whole scheduler, the
# node-shared data and tallies (the window filled without root), tasks crashing their ranks +
# --resume (the signal and kill -9 resume tests time their signals against the run, and on a
# loaded machine miss as root too), HDF5 files written by h5py, and real plugins dlopen'ed (from
# the install the plugin.install fixture made in step 3, hence -FS). Not Slurm (root daemons)
# nor the namespace nodes (need root).
unprivileged_tests='^carlo_mpi_(transport|large_file)[.]np[0-9]+([.]nodes_of[0-9]+)?$'  # not .unprivileged: it drops root itself
unprivileged_tests+='|^run[.](exactly_once[.]np3|exactly_once[.]nodes4of2)$'
unprivileged_tests+='|^run[.](retries_and_failures[.]np4|bootstrap_accuracy)$'
unprivileged_tests+='|^walk[.]node_tallies$|^io[.]h5py_plain$'
unprivileged_tests+='|^resume[.]poison_task_quarantined$'
unprivileged_tests+='|^plugin[.](example_identical_at_1_and_3_ranks|refuses_other_abi)$'
if ((EUID == 0)) && [[ ${CARLO_SKIP_UNPRIVILEGED:-0} != 1 ]]; then
  echo "== MPI and end-to-end tests as the unprivileged user carlo-test"
  if prepare_test_user carlo-test "$PWD" && user_tree=$(user_ctest_tree carlo-test); then
    # Not root any more: Open MPI needs (and heeds) no OMPI_ALLOW_RUN_AS_ROOT*.
    as_user=(runuser -u carlo-test --
             env -u OMPI_ALLOW_RUN_AS_ROOT -u OMPI_ALLOW_RUN_AS_ROOT_CONFIRM)
    run_ctest unprivileged "$user_tree" -FS carlo_installed -R "$unprivileged_tests"
    as_user=()
    rm -rf "$user_tree"
  else
    echo "test.sh: could not set up the unprivileged user carlo-test" >&2
    failed=1
    summaries+=("0% tests passed, 1 tests failed out of 1")
  fi
  step_done unprivileged
fi

failures=0 total=0
for s in "${summaries[@]}"; do
  read -r f t <<<"$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1 \2/' <<<"$s")"
  failures=$((failures + f)) total=$((total + t))
done
passed=$((total - failures))
echo
echo "== carlo tests finished in $((SECONDS - start)) s (logs in $logs/):"
printf '   %s\n' "${summaries[@]}"
echo "== step durations:"
printf '   %s\n' "${durations[@]}"
if ((failed && failures == 0)); then failures=1 total=$((total + 1)); fi  # e.g. a build failure
echo "$((total ? passed * 100 / total : 0))% tests passed, $failures tests failed out of $total"
exit "$failed"
