#!/usr/bin/env bash
# The layering rules of docs/architecture.md, checked on the sources:
#   - only src/transport/ includes MPI or calls MPI_* functions;
#   - only src/io/ includes HDF5 or calls H5* functions;
#   - the public headers (include/carlo/) include neither, so simulations never see them;
#   - simulations (src/sims/, docs/examples/) include only the core API, as a plugin does.
# Production code, benchmarks and the example plugin are checked; tests of the I/O and transport
# layers may use HDF5 and MPI themselves (to build bad files, to check windows).
# Usage: check_layers.sh SOURCE_DIR. Prints every violation (file:line) and exits 1 if any.
set -euo pipefail
cd "${1:?usage: check_layers.sh SOURCE_DIR}"
status=0
violations() {  # $1 = what, $2 = allowed directory, $3 = extended regex
  local hits
  hits=$(grep -rnE "$3" src include bench docs/examples \
           --include='*.h' --include='*.hpp' --include='*.cpp' | grep -v "^$2/" || true)
  if [[ -n $hits ]]; then
    echo "$1 outside $2/:"
    echo "$hits"
    status=1
  fi
}
violations "MPI header" src/transport '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](mpi\.h|mpi_[a-z]+\.h|openmpi/)'
violations "MPI call" src/transport '\bMPI_[A-Z][A-Za-z_]*[[:space:]]*\('
violations "HDF5 header" src/io '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](hdf5|H5[A-Za-z]*)\.h'
violations "HDF5 call" src/io '\bH5[A-Z][A-Za-z]*_?[a-z][A-Za-z_]*[[:space:]]*\('
# Simulations see only the core API (the same a plugin sees).
sims=$(grep -rnE '#[[:space:]]*include[[:space:]]*[<"](carlo/(io|sched|transport)/|cli/|io/|transport/|sched/)' \
         src/sims docs/examples || true)
if [[ -n $sims ]]; then
  echo "simulations including more than the core API:"
  echo "$sims"
  status=1
fi
if [[ $status == 0 ]]; then
  echo "layers: MPI only in src/transport/, HDF5 only in src/io/, simulations on the core API only"
fi
exit $status
