#pragma once
/// \file
/// The renderings of a ResultsView: what `carlo report` and `carlo info` print. Each returns the
/// whole text; the command line prints it. The formats are described in docs/report.md and
/// docs/commands.md; scripts read the JSON.
#include "report/results_view.h"

#include <string>

namespace carlo::report {

/// `carlo report`'s text (a full-depth view): state, run, timing and load, estimates with their
/// 95% intervals, tallies, failures, options; `plot_path` ("" for none) is named at the end.
std::string render_text(const ResultsView& view, const std::string& plot_path);

/// `carlo report --json` (a full-depth view): the same facts as render_text with every digit;
/// figures that do not exist (NaN, provenance of an unfinished run) are null.
std::string render_json(const ResultsView& view, const std::string& plot_path);

/// `carlo info RESULTS.h5` (a view of any depth): the state in the first line, then provenance,
/// stored summaries, tally totals and the first failures.
std::string render_info(const ResultsView& view);

/// `carlo report --plot` (a full-depth view): a self-contained SVG document. Reads each
/// observation's per-task values from the file, one observation at a time.
std::string render_plot(const ResultsView& view);

}  // namespace carlo::report
