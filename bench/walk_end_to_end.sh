#!/usr/bin/env bash
# `walk` end to end against its Python peers (docs/benchmarks.md, "walk end to end"; issue 14):
# the whole command, launcher start to exit, on an h5py-written R-MAT scale-22 graph, 20,000
# tasks of 1000 walks, 2 ranks or workers each:
#   carlo    mpirun -n 2 build/carlo run --quiet --sim walk ... (with CARLO_TIMINGS=1)
#   carlo-mmap  the same with --share mmap (the values mapped from the file's page cache)
#   mpi4py   mpirun -n 2 /usr/bin/python3 bench/walk_mpi4py.py ...
#   pool     /usr/bin/python3 bench/walk_pool.py ... --workers 2
# alternated for ROUNDS rounds (default 3); then the medians, tasks/s, carlo / best peer, and
# bench_walk's (b) line (the kernel through carlo::Task, one core) of the same session, to compare
# with each carlo worker's steady rate (tasks x mean steps per task / busy seconds).
# Sanity checks: each peer's mean steps per task (~ walks / (1 - alpha) = 6667) and the L1
# distance between its normalised visits and carlo's, against the distance Poisson noise alone
# would give; exits 1 if a peer is grossly off.
#
#   bench/walk_end_to_end.sh [ROUNDS]      # env: TASKS (20000), CARLO (build/carlo), GRAPH
set -euo pipefail

rounds=${1:-3}
repo=$(cd "$(dirname "$0")/.." && pwd)
carlo=${CARLO:-$repo/build/carlo}
bench_walk=${BENCH_WALK:-$(dirname "$carlo")/bench/bench_walk}
dir=/tmp/carlo-bench
graph=${GRAPH:-$dir/g22py.h5}
tasks=${TASKS:-20000}
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun=(mpirun -n 2 --oversubscribe)
common=(--tasks "$tasks" --seed 1)

for f in "$carlo" "$bench_walk"; do
  [[ -x $f ]] || {
    echo "walk_end_to_end: $f not built (ninja -C build carlo bench_walk)" >&2
    exit 1
  }
done
if ! $py -c "import mpi4py, numba" 2>/dev/null; then
  echo "walk_end_to_end: installing python3-mpi4py python3-numba (the peers need them)" >&2
  apt-get install -y python3-mpi4py python3-numba >/dev/null
fi
mkdir -p "$dir"
if [[ ! -e $graph ]]; then
  echo "making $graph (~75 s)"
  $py "$repo/bench/rmat_h5py.py" 22 "$graph.part" && mv "$graph.part" "$graph"
fi

# The tasks/steps arithmetic and the checks, in Python (h5py).
analyse() { $py "$repo/bench/walk_compare.py" "$@"; }

# timed NAME CMD...: runs CMD under /usr/bin/time, appends "NAME wall user+sys" (seconds; the CPU
# time of all ranks, which the launcher waits for) to $dir/times.txt.
timed() {
  local name=$1
  shift
  /usr/bin/time -f "%e %U %S" -o "$dir/time.txt" "$@" 2>"$dir/stderr.txt" || {
    cat "$dir/stderr.txt" >&2
    echo "walk_end_to_end: $name failed" >&2
    exit 1
  }
  local wall user sys
  read -r wall user sys < <(tail -n1 "$dir/time.txt")
  echo "$name $wall $(echo "$user + $sys" | bc)" >>"$dir/times.txt"
  printf '  %-8s %7.2f s  (CPU %.2f s user + %.2f s sys)\n' "$name" "$wall" "$user" "$sys"
}

: >"$dir/times.txt"
: >"$dir/rates.txt"
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "walk end to end: $graph, $tasks tasks, 2 ranks; $(date -u +%F\ %T) UTC, load $(load)"
for ((r = 1; r <= rounds; ++r)); do
  echo "round $r"
  CARLO_TIMINGS=1 timed carlo "${mpirun[@]}" "$carlo" run --quiet --sim walk --data "$graph" \
    "${common[@]}" -o "$dir/walk_carlo.h5" --force
  grep '^carlo timings:' "$dir/stderr.txt" | sed 's/^/    /' | tee "$dir/timings.txt" || true
  analyse rates "$dir/walk_carlo.h5" "$dir/timings.txt" | tee -a "$dir/rates.txt"
  CARLO_TIMINGS=1 timed carlo-mmap "${mpirun[@]}" "$carlo" run --quiet --sim walk --share mmap \
    --data "$graph" "${common[@]}" -o "$dir/walk_carlo_mmap.h5" --force
  grep '^carlo timings: start' "$dir/stderr.txt" | sed 's/^/    /' || true
  timed mpi4py "${mpirun[@]}" $py "$repo/bench/walk_mpi4py.py" "$graph" "${common[@]}" \
    -o "$dir/walk_mpi4py.h5"
  timed pool $py "$repo/bench/walk_pool.py" "$graph" "${common[@]}" --workers 2 \
    -o "$dir/walk_pool.h5"
done
echo "load $(load)"

echo "bench_walk (same session): $bench_walk $graph --tasks 300 --rounds 3"
"$bench_walk" "$graph" --tasks 300 --rounds 3 >"$dir/bench_walk.txt" 2>&1 ||
  { cat "$dir/bench_walk.txt" >&2; exit 1; }
b_line=$(grep '^(b)' "$dir/bench_walk.txt")
echo "  $b_line"

analyse summary "$dir/times.txt" "$tasks" "$dir/rates.txt" "$b_line" \
  "$dir/walk_carlo.h5" "$dir/walk_carlo_mmap.h5" "$dir/walk_mpi4py.h5" "$dir/walk_pool.h5"
