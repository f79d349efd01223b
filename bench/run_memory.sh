#!/usr/bin/env bash
# Memory of a whole `carlo run` job on this machine (docs/benchmarks.md, "Tally memory"):
#   bench/run_memory.sh CARLO RANKS RUN_ARGS...
# Starts `mpirun -n RANKS CARLO run RUN_ARGS...` and samples every 0.1 s the proportional set size
# (PSS: shared pages split between the processes mapping them, so the sum over ranks is the job's
# real footprint) of every rank, from /proc/PID/smaps_rollup. Prints the peak of the sum over
# ranks, of rank 0 (which also runs the master and writes the results) and of the largest other
# rank, in MiB.
set -euo pipefail
carlo=${1:?usage: bench/run_memory.sh CARLO RANKS RUN_ARGS...}
ranks=${2:?usage: bench/run_memory.sh CARLO RANKS RUN_ARGS...}
shift 2
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
exe=$(readlink -f "$carlo")
mpirun -n "$ranks" --oversubscribe "$exe" run "$@" &
launcher=$!
peak_sum=0 peak_root=0 peak_other=0
while kill -0 "$launcher" 2>/dev/null; do
  sum=0
  for pid in $(pgrep -f "^$exe run" || true); do
    kb=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || true)
    kb=${kb:-0}
    rank=$({ tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null |
      sed -n 's/^OMPI_COMM_WORLD_RANK=//p' || true)
    sum=$((sum + kb))
    if [[ $rank == 0 ]]; then
      ((kb > peak_root)) && peak_root=$kb
    else
      ((kb > peak_other)) && peak_other=$kb
    fi
  done
  ((sum > peak_sum)) && peak_sum=$sum
  sleep 0.1
done
wait "$launcher"
awk -v n="$ranks" -v s="$peak_sum" -v r="$peak_root" -v o="$peak_other" 'BEGIN {
  printf "ranks %s: peak PSS summed over ranks %.0f MiB; rank 0 %.0f MiB; other ranks %.0f MiB\n",
         n, s / 1024, r / 1024, o / 1024 }'
