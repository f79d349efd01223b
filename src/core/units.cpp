#include <carlo/error.h>
#include <carlo/units.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace carlo {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Splits "1.5GiB" into 1.5 and "gib"; rejects signs, blanks and junk.
std::pair<long double, std::string> split_number(std::string_view text, std::string_view what) {
  std::string s(text);
  auto bad = [&](const std::string& why) {
    return InputError(std::string(what) + ": '" + s + "' is not a valid value (" + why + ")");
  };
  if (s.empty()) throw bad("empty");
  std::size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == 0) throw bad("expected a non-negative number");
  // Scientific form 1e6.
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E') && i + 1 < s.size() &&
      std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  }
  long double number = 0;
  try {
    std::size_t used = 0;
    number = std::stold(s.substr(0, i), &used);
    if (used != i) throw bad("malformed number");
  } catch (const std::logic_error&) {
    throw bad("malformed number");
  }
  return {number, lower(std::string_view(s).substr(i))};
}

std::uint64_t to_u64(long double v, std::string_view text, std::string_view what) {
  if (!(v >= 0) || v > 9.2e18L)
    throw InputError(std::string(what) + ": '" + std::string(text) + "' is out of range");
  if (v != std::floor(v))
    throw InputError(std::string(what) + ": '" + std::string(text) + "' is not a whole number");
  return static_cast<std::uint64_t>(v);
}

}  // namespace

std::uint64_t parse_size(std::string_view text, std::string_view what) {
  auto [number, suffix] = split_number(text, what);
  long double mult = 1;
  if (suffix.empty() || suffix == "b") mult = 1;
  else if (suffix == "k" || suffix == "kb") mult = 1e3L;
  else if (suffix == "m" || suffix == "mb") mult = 1e6L;
  else if (suffix == "g" || suffix == "gb") mult = 1e9L;
  else if (suffix == "t" || suffix == "tb") mult = 1e12L;
  else if (suffix == "kib") mult = 1024.0L;
  else if (suffix == "mib") mult = 1024.0L * 1024;
  else if (suffix == "gib") mult = 1024.0L * 1024 * 1024;
  else if (suffix == "tib") mult = 1024.0L * 1024 * 1024 * 1024;
  else
    throw InputError(std::string(what) + ": '" + std::string(text) +
                     "' has an unknown unit (use B, KiB, MiB, GiB, TiB, kB, MB, GB or TB)");
  return to_u64(std::floor(number * mult), text, what);
}

std::uint64_t parse_count(std::string_view text, std::string_view what) {
  auto [number, suffix] = split_number(text, what);
  long double mult = 1;
  if (suffix.empty()) mult = 1;
  else if (suffix == "k") mult = 1e3L;
  else if (suffix == "m") mult = 1e6L;
  else if (suffix == "g") mult = 1e9L;
  else
    throw InputError(std::string(what) + ": '" + std::string(text) +
                     "' is not a count (use e.g. 1000, 10k, 1e6)");
  return to_u64(number * mult, text, what);
}

std::string format_real(double value) {
  char buf[40];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, r.ptr);
}

std::string format_bytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 5) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else std::snprintf(buf, sizeof buf, "%.2f %s", v, units[u]);
  return buf;
}

}  // namespace carlo
