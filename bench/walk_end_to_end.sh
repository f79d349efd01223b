#!/usr/bin/env bash
# `walk` end to end against its Python peers (docs/benchmarks.md, "walk end to end"; issue 14):
# the whole command, launcher start to exit, on an h5py-written R-MAT scale-22 graph, 20,000
# tasks of 1000 walks, 2 ranks or workers each:
#   carlo    mpirun -n 2 build/carlo run --quiet --sim walk ... (with CARLO_TIMINGS=1)
#   carlo-mmap  the same with --share mmap (the values mapped from the file's page cache)
#   carlo-nobody  the first as the unprivileged user nobody (when the script runs as root)
#   mpi4py   mpirun -n 2 /usr/bin/python3 bench/walk_mpi4py.py ...
#   pool     /usr/bin/python3 bench/walk_pool.py ... --workers 2
# alternated for ROUNDS rounds (default 3); then the medians, tasks/s, carlo / best peer, and
# bench_walk's (b) line (the kernel through carlo::Task, one core, graph on huge pages like carlo's
# window) of the same session, to compare with each carlo worker's steady rate (tasks x mean steps
# per task / busy seconds). After each carlo run, two bench_walk --sim-only at once, one pinned to
# each core, measure the kernel as the ranks ran it, at the same minute (this VM's rates drift 2x
# within an hour): each worker's rate per CPU second over that round's kernel rate on its core.
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
# --bind-to core is Open MPI's default at 2 ranks, said here because kernel_now relies on it.
mpirun=(mpirun -n 2 --oversubscribe --bind-to core)
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

# kernel_now ROUND: the kernel benchmark right after a carlo run, on both cores at once as the two
# ranks were, one instance pinned to each core (bench_walk --huge --sim-only under taskset; mpirun
# binds rank w to core w): appends "ROUND CORE B C" (M steps/s per CPU second of (b) the simulation
# and (c) it plus staging and applying the tally) to $dir/kernel.txt, which the summary pairs with
# that round's rate of the worker on that core. This VM's cores differ by up to 25% from minute to
# minute (a rank moved to the other core takes the other's rate along), so the pairing is per core.
kernel_now() {
  local core pids=()
  for core in 0 1; do
    taskset -c "$core" "$bench_walk" "$graph" --huge --sim-only --tasks 1000 --rounds 3 \
      >"$dir/kernel$core.txt" 2>&1 &
    pids+=($!)
  done
  for core in 0 1; do
    wait "${pids[$core]}" || { cat "$dir/kernel$core.txt" >&2; exit 1; }
    echo "$1 $core $(grep -E '^\((b|c)\)' "$dir/kernel$core.txt" | grep -oE '[0-9.]+ M steps/s' |
      cut -d' ' -f1 | paste -sd' ')" >>"$dir/kernel.txt"
  done
  echo "    kernel at the same minute, core 0 and core 1 at once: $(tail -n2 "$dir/kernel.txt" |
    awk '{printf "%s(b) %s (c) %s", (NR > 1 ? "; " : ""), $3, $4}') M steps/s"
}

# As root, carlo also runs as the unprivileged user nobody (setpriv: uid/gid 65534, no groups, no
# capabilities), as cluster users run it; its results must be bitwise the same.
nobody=()
if ((EUID == 0)); then
  mkdir -p "$dir/nobody" && chmod 1777 "$dir/nobody"
  nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all
    env HOME="$dir/nobody")
  if ! "${nobody[@]}" test -r "$graph"; then
    echo "walk_end_to_end: nobody cannot read $graph; carlo-nobody skipped" >&2
    nobody=()
  fi
fi

: >"$dir/times.txt"
: >"$dir/rates.txt"
: >"$dir/kernel.txt"
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "walk end to end: $graph, $tasks tasks, 2 ranks; $(date -u +%F\ %T) UTC, load $(load)"
for ((r = 1; r <= rounds; ++r)); do
  echo "round $r"
  CARLO_TIMINGS=1 timed carlo "${mpirun[@]}" "$carlo" run --quiet --sim walk --data "$graph" \
    "${common[@]}" -o "$dir/walk_carlo.h5" --force
  grep '^carlo timings:' "$dir/stderr.txt" | sed 's/^/    /' | tee "$dir/timings.txt" || true
  analyse rates "$dir/walk_carlo.h5" "$dir/timings.txt" | tee -a "$dir/rates.txt"
  kernel_now "$r"
  CARLO_TIMINGS=1 timed carlo-mmap "${mpirun[@]}" "$carlo" run --quiet --sim walk --share mmap \
    --data "$graph" "${common[@]}" -o "$dir/walk_carlo_mmap.h5" --force
  grep '^carlo timings: start' "$dir/stderr.txt" | sed 's/^/    /' || true
  if ((${#nobody[@]})); then
    CARLO_TIMINGS=1 timed carlo-nobody "${nobody[@]}" "${mpirun[@]}" "$carlo" run --quiet \
      --sim walk --data "$graph" "${common[@]}" -o "$dir/nobody/walk_carlo_nobody.h5" --force
    grep '^carlo timings: start' "$dir/stderr.txt" | sed 's/^/    /' || true
  fi
  timed mpi4py "${mpirun[@]}" $py "$repo/bench/walk_mpi4py.py" "$graph" "${common[@]}" \
    -o "$dir/walk_mpi4py.h5"
  timed pool $py "$repo/bench/walk_pool.py" "$graph" "${common[@]}" --workers 2 \
    -o "$dir/walk_pool.h5"
done
echo "load $(load)"

echo "bench_walk (same session, one core): $bench_walk $graph --huge --tasks 300 --rounds 3"
"$bench_walk" "$graph" --huge --tasks 300 --rounds 3 >"$dir/bench_walk.txt" 2>&1 ||
  { cat "$dir/bench_walk.txt" >&2; exit 1; }
b_line=$(grep '^(b)' "$dir/bench_walk.txt")
echo "  $b_line"

analyse summary "$dir/times.txt" "$tasks" "$dir/rates.txt" "$b_line" "$dir/kernel.txt" \
  "$dir/walk_carlo.h5" "$dir/walk_carlo_mmap.h5" ${nobody[@]:+"$dir/nobody/walk_carlo_nobody.h5"} \
  "$dir/walk_mpi4py.h5" "$dir/walk_pool.h5"
