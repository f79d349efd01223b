# Checkpoint and resume end to end: kill -9 at random moments (also inside a checkpoint), signals,
# poison tasks, refusals (resume_cli.py CASE).
foreach(case kill9_resume_identical signals_exit_3 poison_task_quarantined resume_refusals)
  add_test(NAME resume.${case} COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/resume_cli.py ${case})
  set_tests_properties(resume.${case} PROPERTIES ENVIRONMENT "${CARLO_TEST_ENV}" LABELS "script;mpi;resume"
                       TIMEOUT 600 PROCESSORS 2)
endforeach()
