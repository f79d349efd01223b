# The batch scripts in jobs/ end to end (slurm_jobs.py CASE): workstation.sh under plain mpirun,
# and the Slurm jobs on a private single-node Slurm that each case brings up and stops
# (tests/slurm/slurm_up.sh, slurm_down.sh; ~1 s up, ~2 s down). Results are checked with h5py
# against a direct mpiexec run. Exit 77 = skipped: Slurm or munge is not installed, or not root.
set(_slurm_cases
  cluster_srun_pmix cluster_mpirun
  requeue_after_warning_signal.srun requeue_after_warning_signal.mpirun
  requeue_by_scontrol.srun requeue_by_scontrol.mpirun
  requeue_at_time_limit
  array_then_merge)
if(TARGET carlo_python)
  # A .py plugin in the same job script under srun (DESIGN §7); python_mpirun exists too, left
  # out of the suite to keep it short (mpirun inside Slurm is covered by cluster_mpirun).
  list(APPEND _slurm_cases python_srun)
endif()
foreach(case IN ITEMS workstation workstation_interrupt_resume)
  add_test(NAME jobs.${case} COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/slurm_jobs.py ${case})
  set_tests_properties(jobs.${case} PROPERTIES ENVIRONMENT "${CARLO_TEST_ENV}"
                       LABELS "script;jobs" TIMEOUT 300 PROCESSORS 2)
endforeach()
foreach(case IN LISTS _slurm_cases)
  add_test(NAME slurm.${case} COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/slurm_jobs.py ${case})
  # One private Slurm at a time: each has its own ports and files, but all share the 2 cores
  # their node declares. PROCESSORS 1 although the jobs run 2 ranks: the cases mostly wait (runs
  # stretched by --sleep-ms, Slurm's one-minute time limit, requeues), so scripts/test.sh runs
  # the suite with one slot more than the machine has cores and these ~150 s overlap the other
  # tests; COST starts them first, one after the other.
  set_tests_properties(slurm.${case} PROPERTIES ENVIRONMENT "${CARLO_TEST_ENV}"
                       LABELS "script;jobs;slurm" TIMEOUT 300 PROCESSORS 1 COST 1000
                       RESOURCE_LOCK slurm SKIP_RETURN_CODE 77)
endforeach()
