#!/usr/bin/env bash
# Builds carlo's libFuzzer targets (tests/fuzz/, docs/building.md "Fuzzing") in build-fuzz/ with
# clang: carlo's sources with -fsanitize=fuzzer-no-link,address,undefined, the targets with
# -fsanitize=fuzzer. Only carlo_lib and the four targets are built, not carlo or the tests.
# Then, unless --build-only, runs them through CTest (label fuzz, one per core,
# $CARLO_FUZZ_SECONDS each, 20 by default). Exits 0 with a note, doing nothing, without clang.
# Extra arguments after the options go to ctest, e.g. -R fuzz.journal.
set -euo pipefail
cd "$(dirname "$0")/.."
build_only=0
if [[ ${1:-} == --build-only ]]; then
  build_only=1
  shift
fi
if ! command -v clang++ >/dev/null || ! command -v clang >/dev/null; then
  echo "fuzz.sh: SKIPPED: no clang/clang++ (apt-get install clang libclang-rt-14-dev)"
  exit 0
fi
build_dir=${CARLO_FUZZ_BUILD_DIR:-build-fuzz}
seconds=${CARLO_FUZZ_SECONDS:-20}
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
configure=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang
           -DCMAKE_CXX_COMPILER=clang++ "${launcher[@]}" -DCARLO_FUZZ=ON
           -DCARLO_BUILD_TESTS=OFF -DCARLO_INSTALL=OFF -DCARLO_FUZZ_SECONDS="$seconds"
           -DCMAKE_UNITY_BUILD=ON)  # a cold build each time in CI: 8 sources per compiler run
stamp=$build_dir/.carlo-configure-args
if [[ ! -f $build_dir/build.ninja || "$(cat "$stamp" 2>/dev/null)" != "${configure[*]}" ]]; then
  cmake -S . -B "$build_dir" "${configure[@]}"
  echo "${configure[*]}" >"$stamp"
fi
cmake --build "$build_dir" -j"$(nproc)" --target fuzz_ragged_file fuzz_journal fuzz_checkpoint \
  fuzz_run_args
((build_only)) && exit 0
ctest --test-dir "$build_dir" -L fuzz -j"$(nproc)" --output-on-failure "$@"
