# carlo run end to end under mpiexec: the scheduler, retries, reproducibility and the sample
# simulations, checked with h5py (run_cli.py CASE). Rank counts above the 2 cores oversubscribe.
set(_run_cases
  exactly_once.np1 exactly_once.np3 exactly_once.np8 exactly_once.nodes4of2
  identical_across_ranks_and_batches
  retries_and_failures.np1 retries_and_failures.np4
  stragglers_reissued
  bootstrap_accuracy pi_accuracy
  target_stderr
  usage_errors)
foreach(case IN LISTS _run_cases)
  add_test(NAME run.${case} COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/run_cli.py ${case})
  set_tests_properties(run.${case} PROPERTIES ENVIRONMENT "${CARLO_TEST_ENV}" LABELS "script;mpi;run"
                       TIMEOUT 600 PROCESSORS 2)
endforeach()
