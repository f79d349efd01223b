# Real (float64) tallies end to end: bitwise identical across ranks, batches, kill -9 + resume and
# merge; accurate against math.fsum; NaN scores fail their task (real_tally_cli.py CASE).
foreach(case ranks_and_batches_identical kill9_resume_identical task_range_halves_merged
        nan_score_fails_task)
  add_test(NAME real_tally.${case}
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/real_tally_cli.py ${case})
  set_tests_properties(real_tally.${case} PROPERTIES ENVIRONMENT "${CARLO_TEST_ENV}"
                       LABELS "script;mpi;real_tally" TIMEOUT 600 PROCESSORS 2)
endforeach()
