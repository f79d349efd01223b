#!/bin/bash
# Submit a split run: the job array jobs/array.sbatch (one index per part) and jobs/merge.sbatch,
# which starts only after every part ended successfully (--dependency=afterok:<array id>).
#
#   CARLO_TASKS=1000000 CARLO_PARTS=8 jobs/submit-array.sh [sbatch options] [-- carlo run args]
#
# sbatch options (e.g. --partition=short --time=1:00:00) go to both jobs; carlo run arguments
# after -- go to the parts (no --tasks, --task-range or -o). CARLO, CARLO_PARTS_DIR,
# CARLO_MERGED and the rest are taken from the environment by both jobs (sbatch exports it).
# Prints the two job ids: "<array id> <merge id>".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export CARLO_TASKS=${CARLO_TASKS:-1000000} CARLO_PARTS=${CARLO_PARTS:-8}

sbatch_opts=()
while (( $# )) && [[ $1 != -- ]]; do
  sbatch_opts+=("$1")
  shift
done
(( $# )) && shift   # the --
run_args=("$@")

array_id=$(sbatch --parsable --array="0-$((CARLO_PARTS - 1))" "${sbatch_opts[@]}" \
             "$here/array.sbatch" "${run_args[@]}")
array_id=${array_id%%;*}   # "id;cluster" on federated setups
merge_id=$(sbatch --parsable --dependency="afterok:$array_id" --kill-on-invalid-dep=yes \
             "${sbatch_opts[@]}" "$here/merge.sbatch")
merge_id=${merge_id%%;*}
echo "$array_id $merge_id"
