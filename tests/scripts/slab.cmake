# `carlo run --sim slab` end to end (slab_cli.py CASE): the analytic pure-absorber answers read
# from the results file, bitwise identical flux and fates across rank counts, after kill -9 and
# --resume, and over --task-range halves merged; refusals of bad options.
foreach(case analytic_pure_absorber identical_across_ranks kill9_resume_identical task_range_merge refusals)
  add_test(NAME slab.${case} COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/slab_cli.py ${case})
  set_tests_properties(slab.${case} PROPERTIES ENVIRONMENT "${CARLO_TEST_ENV}" LABELS "script;mpi;slab"
                       TIMEOUT 600 PROCESSORS 2)
endforeach()
