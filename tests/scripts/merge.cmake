# carlo merge end to end: parts of a run split with --task-range, run under mpiexec with different
# rank counts, merge into the file of one run over all tasks; and every refusal (merge_cli.py CASE).
set(_merge_cases
  bootstrap_parts_equal_single_run
  faults_failures_and_tally_merged
  single_whole_run_is_a_part
  refuses_overlap refuses_gap
  refuses_mismatched_seed refuses_mismatched_sim_option refuses_different_task_count
  refuses_partial_part refuses_part_without_task_range refuses_run_stopped_by_target
  refuses_non_results_file
  refuses_existing_output_unless_forced)
foreach(case IN LISTS _merge_cases)
  add_test(NAME merge.${case} COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/merge_cli.py ${case})
  set_tests_properties(merge.${case} PROPERTIES ENVIRONMENT "${CARLO_TEST_ENV}" LABELS "script;mpi;merge"
                       TIMEOUT 600 PROCESSORS 2)
endforeach()
