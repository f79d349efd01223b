#!/usr/bin/env bash
# Python simulations (docs/benchmarks.md, "Python simulations"):
#   bench/python_bench.sh BUILD_DIR SCRATCH_DIR
# 1. per-task overhead: docs/examples/python/pi.py with one point per task, one rank;
# 2. the numpy bootstrap (docs/examples/python/bootstrap.py) on a 1 GiB groups file, 2 workers:
#    carlo (2 ranks) against the same class in a multiprocessing.Pool(2) (bench/python_pool.py)
#    and in mpi4py over an MPI-3 shared window (bench/python_mpi4py.py, 2 ranks; needs Debian's
#    python3-mpi4py: `apt-get install python3-mpi4py`, left out of scripts/setup.sh since no test
#    uses it), end-to-end wall; then carlo's node memory at 4 ranks on a 2.5 GiB file
#    (bench/run_memory.sh);
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
groups25=$scratch/groups2g5.h5
[[ -f $groups25 ]] || "$carlo" gen groups --rows 10000 --bytes 2560MiB --seed 1 -o "$groups25"
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
if /usr/bin/python3 -c "import mpi4py" 2>/dev/null; then
  /usr/bin/time -f "mpi4py 2 ranks: %e s end to end" mpiexec -n 2 /usr/bin/python3 \
    "$here/python_mpi4py.py" "$groups" 1000
else
  echo "mpi4py: not installed (apt-get install python3-mpi4py), skipped"
fi
echo "== node memory, numpy bootstrap, 4 ranks, 2.5 GiB file"
"$here/run_memory.sh" "$carlo" 4 --quiet --plugin "$src/docs/examples/python/bootstrap.py" \
  --sim pyboot --data "$groups25" --tasks 600 --seed 1 -o "$scratch/boot4.h5" --force

echo "== walk: numba kernel against C++, 1 rank, scale-16 graph, 2000 tasks"
for sim in pywalk walk; do
  "$carlo" run --plugin "$src/docs/examples/python/walk.py" --sim $sim --data "$graph" \
    --tasks 2000 --seed 1 -o "$scratch/$sim.h5" --force 2>&1 | head -1
done
