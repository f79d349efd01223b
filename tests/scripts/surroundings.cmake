# Faults of the surroundings (DESIGN §8): two runs on one output, full disks, damaged checkpoints
# (surroundings_cli.py CASE).
foreach(case second_run_refused disk_full_then_resume_identical damaged_checkpoint_falls_back
             stop_while_loading stop_one_point_tasks_promptly)
  add_test(NAME surroundings.${case}
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/surroundings_cli.py ${case})
  set_tests_properties(surroundings.${case} PROPERTIES ENVIRONMENT "${CARLO_TEST_ENV}"
                       LABELS "script;mpi;surroundings" TIMEOUT 600 PROCESSORS 2
                       SKIP_RETURN_CODE 77)
endforeach()
