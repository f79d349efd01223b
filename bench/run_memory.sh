#!/usr/bin/env bash
# Memory of a whole `carlo run` job on this machine (docs/benchmarks.md, "Tally memory"):
#   bench/run_memory.sh CARLO RANKS RUN_ARGS...
# Starts `mpirun -n RANKS CARLO run RUN_ARGS...` and samples every 0.1 s the proportional set size
# (PSS: shared pages split between the processes mapping them, so the sum over ranks is the job's
# real footprint) of every rank, from /proc/PID/smaps_rollup. Prints the peak of the sum over
# ranks, of rank 0 (which also runs the master and writes the results) and of the largest other
# rank, in MiB.
# PSS only counts pages a process has mapped and touched: the node's shared data segment is filled
# by sendfile() without mapping it, so until every page has been read by some rank the PSS sum
# undercounts it. The second line therefore gives the node footprint as the ranks' own memory (PSS
# less their share of shared memory, Pss_Shmem) plus each carlo shared segment (a memfd, all of it
# resident: tmpfs pages, no swap) counted once, whole.
set -euo pipefail
carlo=${1:?usage: bench/run_memory.sh CARLO RANKS RUN_ARGS...}
ranks=${2:?usage: bench/run_memory.sh CARLO RANKS RUN_ARGS...}
shift 2
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
exe=$(readlink -f "$carlo")
mpirun -n "$ranks" --oversubscribe "$exe" run "$@" &
launcher=$!
peak_sum=0 peak_root=0 peak_other=0 peak_node=0 peak_own=0 peak_seg=0
while kill -0 "$launcher" 2>/dev/null; do
  sum=0 own=0
  declare -A segments=()
  for pid in $(pgrep -f "^$exe run" || true); do
    read -r kb shmem_kb < <(awk '/^Pss:/ {p = $2} /^Pss_Shmem:/ {s = $2}
      END {print p + 0, s + 0}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo "0 0")
    own=$((own + kb - shmem_kb))
    # The segment's mapping (its file descriptor may be closed by now): inode and size, once.
    while read -r range inode; do
      segments[$inode]=$(( (0x${range#*-} - 0x${range%-*}) / 1024 ))
    done < <(awk '/memfd:carlo-shared-segment/ {print $1, $5}' "/proc/$pid/maps" 2>/dev/null || true)
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
  seg=0
  for inode in "${!segments[@]}"; do seg=$((seg + segments[$inode])); done
  unset segments
  if ((own + seg > peak_node)); then peak_node=$((own + seg)) peak_own=$own peak_seg=$seg; fi
  sleep 0.1
done
wait "$launcher"
awk -v n="$ranks" -v s="$peak_sum" -v r="$peak_root" -v o="$peak_other" 'BEGIN {
  printf "ranks %s: peak PSS summed over ranks %.0f MiB; rank 0 %.0f MiB; other ranks %.0f MiB\n",
         n, s / 1024, r / 1024, o / 1024 }'
awk -v n="$ranks" -v t="$peak_node" -v p="$peak_own" -v g="$peak_seg" 'BEGIN {
  printf "ranks %s: peak node footprint %.0f MiB = ranks own %.0f MiB (%.1f per rank) + shared segments %.0f MiB\n",
         n, t / 1024, p / 1024, p / 1024 / n, g / 1024 }'
