// The formatters of src/report/format.h. Their outputs are part of what users and scripts read
// (DESIGN §2): a change here changes `carlo report`, `carlo info` and `carlo run` alike.
#include "report/format.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <ctime>

namespace carlo::report {

namespace {

constexpr std::size_t kMessageBytes = 160;

}  // namespace

std::string format_g(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

std::string format_number(double v, int digits) {
  if (std::isnan(v)) return "n/a";
  return format_g(v, digits);
}

std::string format_rate(double v) {
  if (std::isnan(v)) return "n/a";
  char buf[64];
  if (std::fabs(v) >= 100 && std::fabs(v) < 1e15) std::snprintf(buf, sizeof buf, "%.0f", v);
  else std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

std::string format_to_precision_of(double v, double uncertainty) {
  if (!std::isfinite(v)) return format_number(v);
  if (!(uncertainty > 1e-300) || !std::isfinite(uncertainty) || std::fabs(v) >= 1e15)
    return format_number(v, 8);
  const int decimals = std::clamp(2 - static_cast<int>(std::floor(std::log10(uncertainty))), 0, 17);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string plural(std::uint64_t n, const std::string& word) {
  if (n == 1) return "1 " + word;
  return std::to_string(n) + " " + word + (word.ends_with("ch") ? "es" : "s");
}

std::string format_utc(std::int64_t seconds) {
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  char buf[32];
  if (!gmtime_r(&t, &tm) || !std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm))
    return std::to_string(seconds);
  return buf;
}

std::string format_estimate(const io::Summary& s) {
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "%.10g +- %.3g (stderr; sd %.4g, 95%% of tasks in [%.6g, %.6g], n=%llu)", s.mean,
                s.stderr_, s.sd, s.p2_5, s.p97_5, static_cast<unsigned long long>(s.count));
  return buf;
}

std::string short_message(const std::string& message) {
  const std::size_t newline = message.find('\n');
  std::string line = message.substr(0, newline);
  bool cut = newline != std::string::npos;
  if (line.size() > kMessageBytes) {
    std::size_t end = kMessageBytes;
    while (end > 0 && (static_cast<unsigned char>(line[end]) & 0xC0) == 0x80) --end;
    line.resize(end);
    cut = true;
  }
  return cut ? line + " ..." : line;
}

std::string format_options(const std::vector<std::pair<std::string, std::string>>& options,
                           const std::string& prefix) {
  std::string out;
  std::string line = prefix;
  for (const auto& [name, value] : options) {
    const std::string item = " " + name + "=" + value;
    if (line.size() > prefix.size() && line.size() + item.size() > 100) {
      out += line + "\n";
      line.assign(prefix.size(), ' ');
    }
    line += item;
  }
  return out + line + "\n";
}

void appendf(std::string& out, const char* format, ...) {
  std::va_list args;
  va_start(args, format);
  std::va_list again;
  va_copy(again, args);
  const int n = std::vsnprintf(nullptr, 0, format, args);
  va_end(args);
  if (n > 0) {
    const std::size_t at = out.size();
    out.resize(at + static_cast<std::size_t>(n) + 1);
    std::vsnprintf(out.data() + at, static_cast<std::size_t>(n) + 1, format, again);
    out.resize(at + static_cast<std::size_t>(n));
  }
  va_end(again);
}

}  // namespace carlo::report
