# Vector observations end to end (vecobs_cli.py CASE; DESIGN §3): a test plugin observing a scalar
# and a vector of 3; layout float64[T, 3], summaries per component, bitwise identical across ranks
# and batches, kill -9 + --resume, --task-range + merge, --target-stderr NAME[i]=X, report/info.
carlo_add_simulation(carlo_test_plugin_vector_obs ${CMAKE_CURRENT_LIST_DIR}/plugins_run/vector_obs.cpp)
target_link_libraries(carlo_test_plugin_vector_obs PRIVATE carlo_warnings)
foreach(case layout_and_summaries_per_component identical_across_ranks_and_batches
             killed_then_resumed_identical task_range_halves_merge_identical
             target_stderr_component_stops_early report_and_info_show_components)
  add_test(NAME vecobs.${case}
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/vecobs_cli.py ${case}
                   --plugin $<TARGET_FILE:carlo_test_plugin_vector_obs>)
  set_tests_properties(vecobs.${case} PROPERTIES ENVIRONMENT "${CARLO_TEST_ENV}"
                       LABELS "script;mpi;vecobs" TIMEOUT 600 PROCESSORS 2)
endforeach()
