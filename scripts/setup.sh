#!/usr/bin/env bash
# One-time (and idempotent) setup on Debian 12: install missing packages, configure and build
# carlo into build/ (or $CARLO_BUILD_DIR). A re-run with nothing changed takes a few seconds.
# Extra arguments are passed to the CMake configure step, e.g. -DCARLO_SANITIZE=ON.
# --packages-only (first argument): install missing packages, build nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
packages_only=0
if [[ ${1:-} == --packages-only ]]; then
  packages_only=1
  shift
fi

packages=(
  build-essential cmake ninja-build pkg-config git
  libopenmpi-dev openmpi-bin libhdf5-dev hdf5-tools libboost-program-options-dev
  librandom123-dev libgtest-dev googletest
  python3 python3-h5py python3-numpy python3-pandas python3-dev pybind11-dev python3-numba python3-mpi4py
  clang-format slurm-wlm munge librsvg2-bin
  clang libclang-rt-14-dev  # the fuzz pass (scripts/fuzz.sh): clang with libFuzzer
  iproute2 strace util-linux passwd acl  # namespace nodes (multinode tests), the unprivileged test user
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ $status == installed ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=()
  ((EUID == 0)) || sudo=(sudo)
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

((packages_only)) && exit 0

build_dir=${CARLO_BUILD_DIR:-build}
# Configure only the first time or when the arguments change; after that Ninja re-runs CMake by
# itself whenever a CMakeLists.txt or a source glob changes.
configure=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@")
stamp=$build_dir/.carlo-configure-args
if [[ ! -f $build_dir/build.ninja || "$(cat "$stamp" 2>/dev/null)" != "${configure[*]}" ]]; then
  cmake -S . -B "$build_dir" "${configure[@]}"
  echo "${configure[*]}" >"$stamp"
fi
cmake --build "$build_dir" -j"$(nproc)"
