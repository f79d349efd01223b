# I/O layer and data commands (carlo gen / info / import): end-to-end tests driving the carlo
# executable, with h5py (Debian's /usr/bin/python3) writing and checking files independently.

# The ragged-file unit tests build malformed files with the HDF5 C API through src/io/h5.h.
target_link_libraries(carlo_unit_tests PRIVATE HDF5::HDF5)

# carlo gen / info / import against files written and checked with h5py (io_cli.py CHECK).
foreach(check h5py_plain h5py_gzip_int64 h5py_bad_offsets import_vlen import_refusals gen_groups
              gen_graph cli_errors)
  add_test(NAME io.${check}
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/io_cli.py ${check})
  set_tests_properties(io.${check} PROPERTIES ENVIRONMENT "${CARLO_TEST_ENV}" LABELS "script;io"
                       TIMEOUT 300)
endforeach()
