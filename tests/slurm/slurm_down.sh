#!/bin/bash
# Stop the private Slurm started by slurm_up.sh DIR: slurmd, slurmctld, munged and any job step
# daemons they left, each found through its own pid file under DIR (never by name, so a system
# Slurm keeps running). Safe to call twice, or after a partial bring-up. DIR itself is kept
# (logs); pass --remove to delete it as well.
set -uo pipefail

dir=${1:?usage: slurm_down.sh DIR [--remove]}
[[ -d $dir ]] || exit 0

# pid of a live process from a pid file, or nothing.
live_pid() {
  local pid
  [[ -f $1 ]] || return 0
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
  return 0
}

# Ask every given process to end, then wait for all of them (up to 10 s) before SIGKILL.
stop() {
  local pid i alive
  (( $# )) || return 0
  kill -TERM "$@" 2>/dev/null
  for ((i = 0; i < 100; i++)); do
    alive=0
    for pid; do kill -0 "$pid" 2>/dev/null && alive=1; done
    (( alive )) || return 0
    sleep 0.1
  done
  kill -KILL "$@" 2>/dev/null
  return 0
}

ctld_pid=$(live_pid "$dir/state/slurmctld.pid")
slurmd_pid=$(live_pid "$dir/state/slurmd.pid")

# Cancel what is still queued or running, so slurmstepd ends the jobs' processes itself.
if [[ -n $ctld_pid && -n $slurmd_pid ]]; then
  export SLURM_CONF=$dir/etc/slurm.conf
  mapfile -t jobs < <(squeue -h -o %A 2>/dev/null)
  if (( ${#jobs[@]} )); then
    scancel "${jobs[@]}" 2>/dev/null
    for ((i = 0; i < 200; i++)); do
      [[ -z $(squeue -h -o %A 2>/dev/null) ]] && break
      sleep 0.1
    done
  fi
fi

# The daemons together: each takes a second or two to shut down.
pids=()
[[ -n $slurmd_pid ]] && pids+=("$slurmd_pid")
[[ -n $ctld_pid ]] && pids+=("$ctld_pid")
# Leftover slurmstepd of this instance: slurmd double-forks them, so they are not its children,
# but each keeps our slurmd log open.
for proc in /proc/[0-9]*; do
  [[ $(cat "$proc/comm" 2>/dev/null) == slurmstepd ]] || continue
  for fd in "$proc"/fd/*; do
    if [[ $(readlink "$fd" 2>/dev/null) == "$dir"/* ]]; then
      pids+=("${proc#/proc/}")
      break
    fi
  done
done
pid=$(live_pid "$dir/munge/munged.pid"); [[ -n $pid ]] && pids+=("$pid")
stop "${pids[@]}"

if [[ ${2:-} == --remove ]]; then
  rm -rf "$dir"
fi
exit 0
