# Simulations written in Python (python_cli.py CASE; DESIGN §7): the examples under mpiexec,
# bitwise identical across ranks and batches and estimating what the C++ samples do; read-only
# data; exceptions as failures; a segfault quarantined; broken scripts refused; kill -9 +
# --resume; split and merge (refusing an edited script); signals; --help; carlo itself not
# linking libpython.
if(NOT TARGET carlo_python)
  return()
endif()
foreach(case
    examples_identical_across_ranks_and_batches bootstrap_estimates_the_cpp_expectation
    walk_estimates_pagerank_like_cpp rng_is_keyed_numpy_philox write_into_data_fails_the_task
    exceptions_are_failures broken_scripts_refused killed_then_resumed_identical
    split_parts_merge_and_refuse_an_edited_script
    signal_checkpoints_while_python_runs segfault_is_quarantined
    real_tally_scores_identical_and_nan_fails help_lists_simulations_and_options
    vector_observation_fate carlo_does_not_link_python)
  add_test(NAME python.${case} COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/python_cli.py ${case})
  set_tests_properties(python.${case} PROPERTIES ENVIRONMENT "${CARLO_TEST_ENV}"
                       LABELS "script;mpi;python" TIMEOUT 600 PROCESSORS 2)
endforeach()
