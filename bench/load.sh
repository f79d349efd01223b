#!/usr/bin/env bash
# Driver for bench_load (docs/benchmarks.md, "Loading the data: one copy per node"):
#   bench/load.sh BUILD_DIR [FILE]   (default FILE /tmp/groups4g.h5, made with `carlo gen` if absent
#                                     and removed at the end if this script made it)
# For each rank count (RANKS, default "1 2 4") it runs bench_load as the current user and, when
# that is root, right after as the unprivileged user nobody (setpriv: uid/gid 65534, no groups, no
# capabilities; BUILD_DIR and FILE must be readable by it), then prints the ratio of the two
# window loads and of the unprivileged load to read() into a touched buffer. Both runs are alike:
# the read into fresh memory is left out (FRESH=1 puts it back in both) because on a virtual
# machine that hands freed memory back to its host it takes minutes, and the 4 GiB it frees just
# before the loads would make their pages slow to fault in too.
set -euo pipefail
build=${1:?usage: bench/load.sh BUILD_DIR [FILE]}
file=${2:-/tmp/groups4g.h5}
build=$(cd "$build" && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
made=0
if [[ ! -e $file ]]; then
  "$build/carlo" gen groups --rows 10000 --bytes 4GiB --seed 1 -o "$file" 2>/dev/null
  chmod a+r "$file"
  made=1
fi
unprivileged=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all
              --bounding-set=-all env HOME=/tmp)
# The figure in seconds from bench_load's line starting with `label`.
seconds() { sed -n "s/^  $1 *\([0-9.]*\) s.*/\1/p" <<<"$2" | head -1; }
for n in ${RANKS:-1 2 4}; do
  run=(mpirun -n "$n" --oversubscribe "$build/bench/bench_load" "$file" --repeat "${REPEAT:-3}")
  [[ ${FRESH:-0} == 1 ]] || run+=(--no-fresh)
  as_user=$("${run[@]}")
  echo "$as_user"
  [[ $(id -u) == 0 ]] || continue
  as_nobody=$("${unprivileged[@]}" "${run[@]}")
  echo "$as_nobody"
  root_s=$(seconds "window load" "$as_user")
  nobody_s=$(seconds "window load" "$as_nobody")
  touched_s=$(seconds "read() into touched buffer (rank 0)" "$as_nobody")
  awk -v n="$n" -v r="$root_s" -v u="$nobody_s" -v t="$touched_s" 'BEGIN {
    printf "%d ranks: window load unprivileged / root = %.2f (target <= 1.3); " \
           "unprivileged / touched read() = %.2f (target <= 2.0)\n\n", n, u / r, u / t }'
done
if [[ $made == 1 ]]; then rm -f "$file"; fi
