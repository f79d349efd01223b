# `carlo run --sim walk` end to end (walk_cli.py CASE): PageRank accuracy on `carlo gen graph
# --scale 8` against exact standard errors, bitwise identical results across rank counts and
# virtual nodes (node-shared tallies), every integer dtype, and refusals of bad graphs and options
# (also with the id check split over 3 ranks).
foreach(case pagerank_gen_scale8 identical_across_ranks node_tallies integer_dtypes refusals
                 refusals_split_over_ranks)
  add_test(NAME walk.${case} COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/walk_cli.py ${case})
  set_tests_properties(walk.${case} PROPERTIES ENVIRONMENT "${CARLO_TEST_ENV}" LABELS "script;mpi;walk"
                       TIMEOUT 600 PROCESSORS 2)
endforeach()
