#!/bin/bash
# carlo on a workstation (no Slurm): one `carlo run` over NP local ranks with mpirun.
#
#   jobs/workstation.sh                                  # the run configured below
#   jobs/workstation.sh --sim pi --tasks 1e5 --seed 1 -o pi.h5   # or any `carlo run` args
#   NP=8 jobs/workstation.sh ...                         # rank count (default: all cores)
#
# The run is started with --resume, so running the script again after an interruption (Ctrl-C,
# kill, reboot) continues from the checkpoint, and running it on a finished file does nothing.
# Ctrl-C or `kill <script pid>` makes carlo write its checkpoint and exit 3.
# Lines marked SITE are specific to your machine. See docs/slurm.md.
set -uo pipefail

# --- SITE ---------------------------------------------------------------------------------------
CARLO=${CARLO:-$HOME/carlo/build/carlo}   # SITE: path to the carlo executable
NP=${NP:-$(nproc)}                        # SITE: ranks; more than the cores works (oversubscribed)
MPIRUN=${MPIRUN:-mpirun}                  # SITE: Open MPI's launcher
# Open MPI refuses to run as root unless told; harmless otherwise.
if [[ $(id -u) == 0 ]]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

# --- the run --------------------------------------------------------------------------------------
run_args=(--sim pi --tasks 10000 --seed 1 -o "$PWD/pi.h5")
(( $# )) && run_args=("$@")

echo "carlo on $(hostname -s): $MPIRUN -n $NP $CARLO run ${run_args[*]} --resume"
# mpirun in the background, in its own process group (set -m) so a Ctrl-C reaches only this
# script, which then asks for a checkpoint the one way mpirun passes on: SIGUSR1 (SIGTERM or
# SIGINT to mpirun make it kill the ranks).
pid=
trap 'trapped=1; echo "interrupted: asking carlo to checkpoint" >&2; [[ -n ${pid:-$!} ]] && kill -USR1 "${pid:-$!}"' INT TERM USR1
set -m
"$MPIRUN" -n "$NP" --oversubscribe "$CARLO" run "${run_args[@]}" --resume </dev/null &
pid=$!
set +m
rc=1
while :; do
  trapped=0
  wait "$pid"
  status=$?
  (( status == 127 )) && break   # already collected
  rc=$status
  (( trapped )) || break         # else the trap cut wait short: wait for the real status
done
trap - INT TERM USR1

case $rc in
  0) echo "carlo: all tasks done" ;;
  2) echo "carlo: done, but some tasks failed (listed in /failures of the results file)" ;;
  3) echo "carlo: interrupted, checkpoint written; run this script again to continue" ;;
  *) echo "carlo: exit status $rc" ;;
esac
exit "$rc"
