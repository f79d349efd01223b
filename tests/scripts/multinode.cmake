# Two real nodes on one machine (multinode.py CASE): network namespaces with their own hostnames
# joined by a bridge, Open MPI across them over TCP, no CARLO_RANKS_PER_NODE. Needs root; skipped
# (exit 77) where namespaces cannot be made.
foreach(case two_nodes_identical kill9_node_resume)
  add_test(NAME multinode.${case} COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/multinode.py ${case})
  set_tests_properties(multinode.${case} PROPERTIES ENVIRONMENT "${CARLO_TEST_ENV}"
                       LABELS "script;mpi;multinode" TIMEOUT 300 PROCESSORS 2 SKIP_RETURN_CODE 77)
endforeach()
