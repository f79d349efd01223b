# Plugins end to end (plugin_cli.py CASE): carlo installed with `cmake --install` into a prefix,
# docs/examples/plugin built out of tree against that prefix with find_package(carlo) and run by
# the installed `carlo` under mpiexec; bad plugins (and bad declarations in a plugin) refused with
# one line and exit status 1; a plugin named twice loaded once; the example optimised when no build
# type is chosen; carlo's build tree not mistaken for a package.
# `plugin.install` (a fixture) installs and builds once, into <build>/plugin-test/, incrementally
# on a re-run; every other case uses what it made.
if(NOT CARLO_INSTALL)
  return()
endif()

# Bad plugins, real shared objects: no entry points, another carlo's ABI tag, and (built with the
# same carlo_add_simulation a user calls) a simulation named like a built-in one.
add_library(carlo_test_plugin_no_entry MODULE ${CMAKE_CURRENT_LIST_DIR}/plugins/no_entry.cpp)
add_library(carlo_test_plugin_other_abi MODULE ${CMAKE_CURRENT_LIST_DIR}/plugins/other_abi.cpp)
carlo_add_simulation(carlo_test_plugin_duplicate ${CMAKE_CURRENT_LIST_DIR}/plugins/duplicate_name.cpp)
# And one plugin with a mistake in a simulation's declarations, the test choosing which when carlo
# loads it (bad_declaration.cpp, CARLO_TEST_MISTAKE).
carlo_add_simulation(carlo_test_plugin_bad_declaration ${CMAKE_CURRENT_LIST_DIR}/plugins/bad_declaration.cpp)
foreach(t carlo_test_plugin_no_entry carlo_test_plugin_other_abi carlo_test_plugin_duplicate
          carlo_test_plugin_bad_declaration)
  target_link_libraries(${t} PRIVATE carlo_warnings)
endforeach()

set(_plugin_args
  --build-dir ${PROJECT_BINARY_DIR} --source-dir ${PROJECT_SOURCE_DIR}
  --cmake ${CMAKE_COMMAND} --generator ${CMAKE_GENERATOR} --cxx ${CMAKE_CXX_COMPILER}
  --no-entry-plugin $<TARGET_FILE:carlo_test_plugin_no_entry>
  --other-abi-plugin $<TARGET_FILE:carlo_test_plugin_other_abi>
  --duplicate-plugin $<TARGET_FILE:carlo_test_plugin_duplicate>
  --bad-declaration-plugin $<TARGET_FILE:carlo_test_plugin_bad_declaration>)

add_test(NAME plugin.install COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/plugin_cli.py install ${_plugin_args})
set_tests_properties(plugin.install PROPERTIES ENVIRONMENT "${CARLO_TEST_ENV}" LABELS "script;plugin"
                     TIMEOUT 600 FIXTURES_SETUP carlo_installed)

set(_plugin_cases
  installed_headers_compile_alone
  example_identical_at_1_and_3_ranks
  example_estimates_match_the_data
  help_lists_plugin_options
  help_lists_plugin_simulations
  help_prints_real_defaults_shortest
  setup_refusal_printed_once
  refuses_missing_entry_points
  refuses_other_abi
  refuses_missing_file
  refuses_non_shared_object
  refuses_duplicate_name
  example_optimised_without_build_type
  chosen_build_type_kept
  build_tree_is_not_a_package
  refuses_reserved_option
  refuses_every_run_option_name
  refuses_duplicate_option
  refuses_bad_option_name
  refuses_bad_simulation_name
  refuses_plugin_registering_twice
  same_plugin_twice_loads_once
  same_plugin_from_config_and_command_line_loads_once
  same_plugin_under_two_names_loads_once
  clash_between_plugins_names_the_first)
foreach(case IN LISTS _plugin_cases)
  add_test(NAME plugin.${case} COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/plugin_cli.py ${case} ${_plugin_args})
  set_tests_properties(plugin.${case} PROPERTIES ENVIRONMENT "${CARLO_TEST_ENV}" LABELS "script;mpi;plugin"
                       TIMEOUT 600 PROCESSORS 2 FIXTURES_REQUIRED carlo_installed)
endforeach()
