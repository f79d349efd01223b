#!/usr/bin/env bash
# Python simulations (docs/benchmarks.md, "Python simulations"):
#   bench/python_bench.sh BUILD_DIR SCRATCH_DIR
# 1. per-task overhead: docs/examples/python/pi.py with one point per task, one rank;
# 2. the numpy bootstrap (docs/examples/python/bootstrap.py) on a 1 GiB groups file, 2 workers:
#    carlo (2 ranks) against the same class in a multiprocessing.Pool(2) (bench/python_pool.py),
#    end-to-end wall, then carlo's node memory at 3 ranks (bench/run_memory.sh);
# 3. the numba walk against the C++ walk, one rank, same graph and options.
set -euo pipefail
build=${1:?usage: bench/python_bench.sh BUILD_DIR SCRATCH_DIR}
scratch=${2:?usage: bench/python_bench.sh BUILD_DIR SCRATCH_DIR}
here=$(cd "$(dirname "$0")" && pwd)
src=$here/..
carlo=$build/carlo
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$scratch"
groups=$scratch/groups1g.h5
[[ -f $groups ]] || "$carlo" gen groups --rows 10000 --bytes 1GiB --seed 1 -o "$groups"
graph=$scratch/graph16.h5
[[ -f $graph ]] || "$carlo" gen graph --scale 16 --edge-factor 16 --seed 1 -o "$graph"

echo "== pi, one point per task, 1 rank"
for n in 100000 400000; do
  "$carlo" run --plugin "$src/docs/examples/python/pi.py" --sim pypi --tasks $n --seed 1 \
    -o "$scratch/pi.h5" --force 2>&1 | head -1
done

echo "== numpy bootstrap, 1000 tasks, 2 workers"
/usr/bin/python3 "$here/python_pool.py" "$groups" 1000 2
/usr/bin/time -f "carlo 2 ranks: %e s end to end" mpiexec -n 2 "$carlo" run --quiet \
  --plugin "$src/docs/examples/python/bootstrap.py" --sim pyboot --data "$groups" --tasks 1000 \
  --seed 1 -o "$scratch/boot.h5" --force
"$here/run_memory.sh" "$carlo" 3 --quiet --plugin "$src/docs/examples/python/bootstrap.py" \
  --sim pyboot --data "$groups" --tasks 300 --seed 1 -o "$scratch/boot3.h5" --force

echo "== walk: numba kernel against C++, 1 rank, scale-16 graph, 2000 tasks"
for sim in pywalk walk; do
  "$carlo" run --plugin "$src/docs/examples/python/walk.py" --sim $sim --data "$graph" \
    --tasks 2000 --seed 1 -o "$scratch/$sim.h5" --force 2>&1 | head -1
done
