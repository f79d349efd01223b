# `format`: every C++ file matches .clang-format (no MPI, no build outputs needed).
find_program(CARLO_CLANG_FORMAT clang-format)
add_test(NAME format
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/check_format.sh ${PROJECT_SOURCE_DIR})
set_tests_properties(format PROPERTIES LABELS format TIMEOUT 120
                     ENVIRONMENT "CLANG_FORMAT=${CARLO_CLANG_FORMAT}")

# `layers`: MPI only in src/transport/, HDF5 only in src/io/, every include along the layer map of
# docs/architecture.md, no cli/ header in tests or benchmarks (check_layers.sh lists the exceptions).
add_test(NAME layers COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/check_layers.sh ${PROJECT_SOURCE_DIR})
set_tests_properties(layers PROPERTIES LABELS format TIMEOUT 60)
