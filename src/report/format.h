#pragma once
/// \file
/// The small number and text formatters of every report: `carlo report`, `carlo info` of a results
/// file, the plot, and the closing lines of `carlo run`. One definition each, so the same figure
/// reads the same everywhere.
#include "io/results_file.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace carlo::report {

/// 95% normal quantile: an interval is mean ± kZ95·stderr.
inline constexpr double kZ95 = 1.96;

/// printf's "%.<digits>g" ("nan", "inf" as printf writes them).
std::string format_g(double v, int digits = 6);
/// format_g, but NaN (a figure that does not exist) is "n/a".
std::string format_number(double v, int digits = 6);
/// Rates and durations: whole numbers from 100 up (no exponents), 3 significant digits below;
/// NaN is "n/a".
std::string format_rate(double v);
/// `v` with the decimals that show `uncertainty` to three significant digits, so an estimate is
/// printed as precisely as it is known; 8 significant digits when the uncertainty is zero, not
/// finite or `v` is huge.
std::string format_to_precision_of(double v, double uncertainty);
/// "1 task", "2 tasks", "3 batches".
std::string plural(std::uint64_t n, const std::string& word);
/// Seconds since the epoch as ISO 8601 UTC ("2026-12-03T09:20:31Z"); the number itself if it has
/// no such form.
std::string format_utc(std::int64_t seconds);
/// One line of an observation's estimate, as `carlo run` closes with it:
/// "0.7853981634 +- 0.000411 (stderr; sd 0.4105, 95% of tasks in [0, 1], n=1000)".
std::string format_estimate(const io::Summary& s);
/// The first line of a failure message, cut to 160 bytes at a UTF-8 character boundary; " ..."
/// marks a cut.
std::string short_message(const std::string& message);

/// name=value items separated by spaces and wrapped at 100 columns; every line ends in a newline.
/// The first line starts with `prefix`, later ones with as many spaces.
std::string format_options(const std::vector<std::pair<std::string, std::string>>& options,
                           const std::string& prefix);

/// Appends printf-formatted text to `out`.
[[gnu::format(printf, 2, 3)]] void appendf(std::string& out, const char* format, ...);

}  // namespace carlo::report
