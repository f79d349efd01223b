# The transport layer, the node-shared data loader and node tallies (src/transport/,
# src/cli/shared_data.*, src/cli/node_tallies.*).
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
