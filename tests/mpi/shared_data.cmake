# The transport layer, the node-shared data loader and node tallies (src/transport/,
# src/engine/shared_data.*, src/engine/node_tallies.*).
set(_dir ${CMAKE_CURRENT_LIST_DIR})
carlo_add_mpi_test(carlo_mpi_transport
  SOURCES ${_dir}/test_runtime.cpp ${_dir}/test_channel.cpp ${_dir}/test_shared_data.cpp
          ${_dir}/test_node_tallies.cpp
  RANKS 1 2 4 VIRTUAL_NODES "4:2")
# Real transfers above 2^31 bytes: two ranks hold ~2.3 GB each.
carlo_add_mpi_test(carlo_mpi_large_messages
  SOURCES ${_dir}/test_large_messages.cpp
  RANKS 2 TIMEOUT 600)
# A ~2.15 GB file of more than 2^31 elements, written, loaded and removed.
carlo_add_mpi_test(carlo_mpi_large_file
  SOURCES ${_dir}/test_large_file.cpp
  RANKS 2 VIRTUAL_NODES "2:1" TIMEOUT 600)
# The node's shared data and tallies as an unprivileged user (run_unprivileged.sh: as root, through
# setpriv as nobody with no capabilities): the fast load must not depend on root.
add_test(NAME carlo_mpi_transport.np4.nodes_of2.unprivileged
         COMMAND ${_dir}/run_unprivileged.sh $<TARGET_FILE:carlo_mpi_transport>
                 ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} 4 --oversubscribe
                 $<TARGET_FILE:carlo_mpi_transport> --gtest_filter=SharedData.*:NodeTallies.*)
set_tests_properties(carlo_mpi_transport.np4.nodes_of2.unprivileged PROPERTIES
                     ENVIRONMENT "${CARLO_TEST_ENV};CARLO_RANKS_PER_NODE=2" TIMEOUT 300
                     LABELS mpi PROCESSORS 2 SKIP_RETURN_CODE 77)
