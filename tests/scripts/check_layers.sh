#!/usr/bin/env bash
# The layer map of docs/architecture.md, checked on the sources:
#   - only src/transport/ includes MPI or calls MPI_* functions;
#   - only src/io/ includes HDF5 or calls H5* functions;
#   - every folder of src/ includes only the layers the map allows it (an include names its layer
#     by its first path component: "io/results_file.h" is io, <carlo/rng.h> is the plugin API);
#   - the plugin API (include/carlo/) includes no layer, so plugins see none of them;
#   - simulations (src/sims/, docs/examples/) include only the plugin API, as a plugin does;
#   - tests and benchmarks include no cli/ header: they drive the layers, not the command line.
# Production code, benchmarks and the example plugin are checked for MPI and HDF5; tests of the
# I/O and transport layers may use HDF5 and MPI themselves (to build bad files, to check windows).
# Folders that do not exist (yet) are skipped.
# Usage: check_layers.sh SOURCE_DIR. Prints every violation (file:line) and exits 1 if any.
set -euo pipefail
cd "${1:?usage: check_layers.sh SOURCE_DIR}"
status=0

report() {  # $1 = what, $2 = hits (file:line:text lines, maybe empty)
  if [[ -n $2 ]]; then
    echo "$1:"
    echo "$2"
    status=1
  fi
}

existing() {  # the arguments that are existing directories
  local d
  for d in "$@"; do [[ -d $d ]] && echo "$d"; done
  return 0
}

violations() {  # $1 = what, $2 = allowed directory, $3 = extended regex
  local dirs hits=""
  mapfile -t dirs < <(existing src include bench docs/examples)
  if ((${#dirs[@]})); then
    hits=$(grep -rnE "$3" "${dirs[@]}" --include='*.h' --include='*.hpp' --include='*.cpp' |
             grep -v "^$2/" || true)
  fi
  report "$1 outside $2/" "$hits"
}
violations "MPI header" src/transport '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](mpi\.h|mpi_[a-z]+\.h|openmpi/)'
violations "MPI call" src/transport '\bMPI_[A-Z][A-Za-z_]*[[:space:]]*\('
violations "HDF5 header" src/io '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](hdf5|H5[A-Za-z]*)\.h'
violations "HDF5 call" src/io '\bH5[A-Z][A-Za-z]*_?[a-z][A-Za-z_]*[[:space:]]*\('

# The layers of src/, named as includes name them.
layers=(core io transport sched sims datagen report engine cli python)
include='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]'

# Exceptions, one per line: "PATH HEADER" = the files under PATH (a folder/ or one file) may
# include HEADER although the map forbids its layer. Keep this list short and say why.
exceptions=(
  # transport implements the scheduler's Channel over MPI (Runtime::make_channel returns a
  # sched::Channel): it needs sched/channel.h. It does not need sched/bytes.h, so that stays out.
  "src/transport/ sched/channel.h"
  # The fuzzer of `carlo run`'s argument parser tests the parser itself.
  "tests/fuzz/fuzz_run_args.cpp cli/run_args.h"
)

without_exceptions() {  # stdin: file:line:text hits; stdout: those no exception allows
  local hits entry path header
  hits=$(cat)
  for entry in "${exceptions[@]}"; do
    read -r path header <<<"$entry"
    hits=$(grep -vE "^${path//./\\.}[^:]*:[0-9]+:${include:1}${header//./\\.}[>\"]" <<<"$hits" ||
             true)
  done
  echo "$hits"
}

# $1 = folders checked (space-separated), $2 = name for the message, rest = layers it may include.
# Its own layer is always allowed.
check() {
  local dirs name=$2 own forbidden=() layer hits=""
  read -ra dirs <<<"$1"
  mapfile -t dirs < <(existing "${dirs[@]}")
  ((${#dirs[@]})) || return 0
  shift 2
  own=$(basename "${dirs[0]}")
  for layer in "${layers[@]}"; do
    [[ $layer == "$own" || " $* " == *" $layer "* ]] || forbidden+=("$layer")
  done
  hits=$(grep -rnE "${include}($(IFS='|'; echo "${forbidden[*]}"))/" "${dirs[@]}" \
           --include='*.h' --include='*.hpp' --include='*.cpp' --include='*.c' || true)
  report "$name including a layer it may not (allowed: ${*:-none})" \
         "$(without_exceptions <<<"$hits" | sed '/^$/d')"
}

# The arrows of the map: folder, then the layers it may include besides itself and include/carlo.
check include/carlo "the plugin API (include/carlo/)"
check src/core "src/core/"
check src/io "src/io/" core
check src/transport "src/transport/" core
check src/sched "src/sched/" core
check "src/sims docs/examples" "simulations (src/sims/, docs/examples/)"
check src/datagen "src/datagen/" core io
check src/report "src/report/" core io
check src/engine "src/engine/" core io transport sched sims report
check src/python "src/python/" core engine
# src/cli/ may include every layer. Tests and benchmarks may include every layer but the CLI.
check tests "tests/" core io transport sched sims datagen report engine python
check bench "bench/" core io transport sched sims datagen report engine python

if [[ $status == 0 ]]; then
  echo "layers: MPI only in src/transport/, HDF5 only in src/io/, every include along the map" \
       "of docs/architecture.md, no cli/ header in tests or benchmarks"
fi
exit $status
