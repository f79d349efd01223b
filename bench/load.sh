#!/usr/bin/env bash
# Driver for bench_load (docs/benchmarks.md, "Loading the data: one copy per node"):
#   bench/load.sh BUILD_DIR [FILE]   (default FILE /tmp/groups4g.h5, made with `carlo gen` if absent
#                                     and removed at the end if this script made it)
set -euo pipefail
build=${1:?usage: bench/load.sh BUILD_DIR [FILE]}
file=${2:-/tmp/groups4g.h5}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
made=0
if [[ ! -e $file ]]; then
  "$build/carlo" gen groups --rows 10000 --bytes 4GiB --seed 1 -o "$file" 2>/dev/null
  made=1
fi
for n in 1 2 4; do
  mpirun -n "$n" --oversubscribe "$build/bench/bench_load" "$file" --repeat "${REPEAT:-3}"
done
if [[ $made == 1 ]]; then rm -f "$file"; fi
