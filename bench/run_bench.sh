#!/usr/bin/env bash
# Runner benchmarks (issue "carlo run"): scheduler throughput, parallel efficiency, bootstrap speed.
# Prints each figure and its ratio to the target; docs/benchmarks.md quotes the output.
#   bash bench/run_bench.sh [BUILD_DIR] [GROUPS_4GIB_FILE]
# The 4 GiB groups file is made once with `carlo gen groups --rows 10000 --bytes 4GiB --seed 1`.
set -euo pipefail
BUILD=${1:-build}
GROUPS=${2:-/tmp/carlo-bench-groups4g.h5}
CARLO=$(realpath "$BUILD/carlo")
PY=/usr/bin/python3
OUT=$(mktemp -d /tmp/carlo-bench.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
run() {  # run RANKS OUTNAME ARGS... ; prints nothing, leaves $OUT/OUTNAME.h5
  local n=$1 name=$2; shift 2
  mpiexec -n "$n" --oversubscribe "$CARLO" run --quiet --seed 1 --force -o "$OUT/$name.h5" "$@"
}
attr() { $PY -c "import h5py,sys; print(h5py.File(sys.argv[1],'r').attrs[sys.argv[2]])" "$OUT/$1.h5" "$2"; }

echo "== machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p')"

echo "== 1. scheduler throughput: pi --samples-per-task 1, 20M tasks, results file included"
for n in 1 2; do
  run $n thr$n --sim pi --samples-per-task 1 --tasks 20000000
  echo "   -n $n: $(attr thr$n tasks_per_second) tasks/s (wall $(attr thr$n wall_seconds) s)"
done
$PY -c "import sys; v=float(sys.argv[1]); print(f'   -n 2 vs target 2,000,000 tasks/s: {v/2e6:.2f}x')" "$(attr thr2 tasks_per_second)"

echo "== 2. parallel efficiency: pi tasks of ~10 ms (--samples-per-task 4200000)"
for n in 1 2 4; do
  tasks=$((300 * n)); [ $n -eq 4 ] && tasks=600
  run $n eff$n --sim pi --samples-per-task 4200000 --tasks $tasks
  echo "   -n $n: $(attr eff$n tasks_per_second) tasks/s, $(attr eff$n compute_seconds) s of compute for $tasks tasks"
done
$PY - "$(attr eff1 tasks_per_second)" "$(attr eff2 tasks_per_second)" "$(attr eff4 tasks_per_second)" <<'PY'
import sys
t1, t2, t4 = map(float, sys.argv[1:])
print(f"   -n 2 / -n 1 = {t2/t1:.3f} (target >= 1.85);  -n 4 / -n 2 = {t4/t2:.3f} (target >= 0.90)")
PY

echo "== 3. bootstrap on a 4 GiB groups file"
if [ ! -f "$GROUPS" ]; then "$CARLO" gen groups --rows 10000 --bytes 4GiB --seed 1 -o "$GROUPS"; fi
per_task=$($PY -c "
import h5py, numpy as np, sys
o = h5py.File(sys.argv[1], 'r')['offsets'][:].astype(np.int64)
L = np.diff(o); L = L[L > 0]
print(64 * L.mean())" "$GROUPS")
echo "   expected resampled elements per task (64 rows x mean non-empty row length): $per_task"
for n in 1 2; do
  run $n bs$n --sim bootstrap --data "$GROUPS" --tasks $((150 * n))
  $PY - "$n" "$(attr bs$n tasks_per_second)" "$(attr bs$n compute_seconds)" "$(attr bs$n wall_seconds)" "$per_task" $((150 * n)) <<'PY'
import sys
n, tps, compute, wall, per_task, tasks = int(sys.argv[1]), *map(float, sys.argv[2:])
rate = tasks * per_task / compute
print(f"   -n {n}: {tps:.1f} tasks/s over {wall:.1f} s wall (data load included); "
      f"{rate/1e6:.0f} M resampled elements/s per core ({rate/150e6:.2f}x the 150 M target)")
PY
done
