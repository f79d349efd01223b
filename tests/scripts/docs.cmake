# The user documentation (docs_links.py CASE): every relative link in README.md and docs/**/*.md
# points to an existing file and every #anchor to a heading of its page, and the link checker
# finds broken ones; docs/commands.md names every option the real `carlo ... --help` prints; the
# commands of docs/quickstart.md run, in order, against this build.
foreach(case files anchors detects_bad)
  add_test(NAME docs.links_${case}
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/docs_links.py ${case} ${PROJECT_SOURCE_DIR})
  set_tests_properties(docs.links_${case} PROPERTIES LABELS "script;docs" TIMEOUT 60)
endforeach()
add_test(NAME docs.commands_options
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/docs_links.py options ${PROJECT_SOURCE_DIR})
set_tests_properties(docs.commands_options PROPERTIES ENVIRONMENT "${CARLO_TEST_ENV}"
                     LABELS "script;docs" TIMEOUT 120)
add_test(NAME docs.quickstart_runs
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/docs_links.py quickstart ${PROJECT_SOURCE_DIR})
set_tests_properties(docs.quickstart_runs PROPERTIES ENVIRONMENT "${CARLO_TEST_ENV}"
                     LABELS "script;docs;mpi" TIMEOUT 600 PROCESSORS 2)
