// The JSON writer of src/report/json.h (`carlo report --json`).
#include "report/json.h"

#include <cmath>
#include <cstdio>

namespace carlo::report {

namespace {

/// An ASCII byte, escaped where JSON requires (and DEL, which terminals show badly).
void append_ascii(std::string& out, unsigned char c) {
  switch (c) {
    case '"': out += "\\\""; return;
    case '\\': out += "\\\\"; return;
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    default: break;
  }
  if (c < 0x20 || c == 0x7f) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\u%04x", c);
    out += buf;
  } else {
    out += static_cast<char>(c);
  }
}

/// Length of the valid UTF-8 sequence starting at p[i] (no overlongs, no surrogates,
/// <= U+10FFFF), or 0 if it is not one.
std::size_t utf8_length(const unsigned char* p, std::size_t i, std::size_t n) {
  const unsigned char c = p[i];
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  }
  if (len == 0 || i + len > n) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const unsigned char b = p[i + k];
    if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return 0;
  }
  return len;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  for (std::size_t i = 0; i < n;) {
    if (p[i] < 0x80) {
      append_ascii(out, p[i]);
      ++i;
    } else if (const std::size_t len = utf8_length(p, i, n); len > 0) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  out += '"';
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void JsonWriter::string(const char* key, std::string_view v) {
  item(key);
  append_json_string(out_, v);
}

void JsonWriter::number(const char* key, double v) {
  item(key);
  out_ += json_number(v);
}

void JsonWriter::integer(const char* key, std::uint64_t v) {
  item(key);
  out_ += std::to_string(v);
}

void JsonWriter::boolean(const char* key, bool v) {
  item(key);
  out_ += v ? "true" : "false";
}

void JsonWriter::null(const char* key) {
  item(key);
  out_ += "null";
}

void JsonWriter::string_member(std::string_view key, std::string_view v) {
  item(nullptr);
  append_json_string(out_, key);
  out_ += ": ";
  append_json_string(out_, v);
}

// A comma after the previous sibling, then a new line indented by the nesting depth.
void JsonWriter::item(const char* key) {
  if (!first_.empty()) {
    if (!first_.back()) out_ += ',';
    first_.back() = false;
    out_ += '\n';
    out_.append(2 * first_.size(), ' ');
  }
  if (key) {
    append_json_string(out_, key);
    out_ += ": ";
  }
}

void JsonWriter::open(const char* key, char bracket) {
  item(key);
  out_ += bracket;
  first_.push_back(true);
}

// A container with members closes on its own line; an empty one right after it opened: [] or {}.
void JsonWriter::close(char bracket) {
  const bool empty = first_.back();
  first_.pop_back();
  if (!empty) {
    out_ += '\n';
    out_.append(2 * first_.size(), ' ');
  }
  out_ += bracket;
}

}  // namespace carlo::report
