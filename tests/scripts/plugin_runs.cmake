# Plugins in long runs (plugin_runs_cli.py CASE), with the installed carlo and the example plugin
# that `plugin.install` built: --resume and carlo merge refuse results of another build of the
# plugin (its content is recorded, not its path); simulations declaring outputs that cannot be
# written are refused with one line before any file exists; a plugin built in libstdc++'s debug
# mode (other container layouts) is refused by its ABI tag.
if(NOT CARLO_INSTALL)
  return()
endif()

carlo_add_simulation(carlo_test_plugin_bad_outputs ${CMAKE_CURRENT_LIST_DIR}/plugins_run/bad_outputs.cpp)
target_link_libraries(carlo_test_plugin_bad_outputs PRIVATE carlo_warnings)
carlo_add_simulation(carlo_test_plugin_debug_mode ${CMAKE_CURRENT_LIST_DIR}/plugins_run/debug_mode.cpp)
target_compile_definitions(carlo_test_plugin_debug_mode PRIVATE _GLIBCXX_DEBUG)

foreach(case resume_refuses_another_build merge_refuses_another_build bad_outputs_refused
             debug_mode_plugin_refused)
  add_test(NAME plugin.${case}
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/plugin_runs_cli.py ${case}
                   --build-dir ${PROJECT_BINARY_DIR} --source-dir ${PROJECT_SOURCE_DIR}
                   --bad-outputs-plugin $<TARGET_FILE:carlo_test_plugin_bad_outputs>
                   --debug-mode-plugin $<TARGET_FILE:carlo_test_plugin_debug_mode>)
  set_tests_properties(plugin.${case} PROPERTIES ENVIRONMENT "${CARLO_TEST_ENV}"
                       LABELS "script;mpi;plugin" TIMEOUT 600 PROCESSORS 2
                       FIXTURES_REQUIRED carlo_installed)
endforeach()
