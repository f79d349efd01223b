#pragma once
/// \file
/// A small JSON writer: pretty-printed text (two-space indent) built in document order. Strings
/// are escaped and bytes that are not valid UTF-8 become U+FFFD, so any strict parser accepts the
/// output whatever a simulation put in its messages; NaN and infinities are written as null.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace carlo::report {

/// Appends `s` as a JSON string literal (quotes included) to `out`.
void append_json_string(std::string& out, std::string_view s);
/// A double with every digit ("%.17g"), or null when it is not finite.
std::string json_number(double v);

/// Members and elements in the order they are written. The caller pairs every begin_* with its
/// end_* and gives a key exactly for the members of objects (nullptr for array elements and for
/// the document itself).
class JsonWriter {
 public:
  void begin_object(const char* key = nullptr) { open(key, '{'); }
  void end_object() { close('}'); }
  void begin_array(const char* key = nullptr) { open(key, '['); }
  void end_array() { close(']'); }
  void string(const char* key, std::string_view v);
  void number(const char* key, double v);
  void integer(const char* key, std::uint64_t v);
  void boolean(const char* key, bool v);
  void null(const char* key);
  /// An object member whose key is data (an option name), not a literal.
  void string_member(std::string_view key, std::string_view v);
  /// The document, ending in a newline.
  std::string str() const { return out_ + "\n"; }

 private:
  void item(const char* key);
  void open(const char* key, char bracket);
  void close(char bracket);

  std::string out_;
  std::vector<bool> first_;  ///< per open container: nothing written in it yet
};

}  // namespace carlo::report
