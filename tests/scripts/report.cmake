# carlo report: text, JSON and SVG of real results files (carlo run under mpiexec), checked with
# h5py against the same files; the SVG rendered with rsvg-convert; the Python analysis example
# of docs/analysis-python.md run with and without pandas (report_cli.py CASE).
set(_report_cases
  text_complete json_complete json_bootstrap_data failed_tasks partial running json_escaping
  plot plot_downsampled plot_without_timeline plot_huge_running_file errors
  analysis_example analysis_example_without_pandas)
foreach(case IN LISTS _report_cases)
  add_test(NAME report.${case}
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/report_cli.py ${case})
  set_tests_properties(report.${case} PROPERTIES ENVIRONMENT "${CARLO_TEST_ENV}"
                       LABELS "script;report" TIMEOUT 300 PROCESSORS 2)
endforeach()
