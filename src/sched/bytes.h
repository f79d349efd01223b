#pragma once
// Little binary codec for the scheduler's messages, journal and checkpoint (same machine, same
// build: native byte order and layout). Readers check every length against the bytes present.
#include <carlo/error.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace carlo::sched {

class ByteWriter {
 public:
  template <class T>
  void put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const std::byte*>(&v);
    out_.insert(out_.end(), p, p + sizeof(T));
  }
  template <class T>
  void put_array(std::span<const T> v) {
    put<std::uint64_t>(v.size());
    const auto* p = reinterpret_cast<const std::byte*>(v.data());
    out_.insert(out_.end(), p, p + v.size_bytes());
  }
  void put_string(const std::string& s) { put_array(std::span<const char>(s.data(), s.size())); }
  std::size_t size() const noexcept { return out_.size(); }
  std::vector<std::byte> take() { return std::move(out_); }

 private:
  std::vector<std::byte> out_;
};

class ByteReader {
 public:
  /// Who is to blame when the bytes do not parse: a scheduler message that does not is carlo's
  /// bug (SystemError); a file (journal, checkpoint) that does not is damaged input (InputError).
  enum class Source { message, file };
  explicit ByteReader(std::span<const std::byte> in, std::string what = "scheduler message",
                      Source source = Source::message)
      : in_(in), what_(std::move(what)), source_(source) {}
  template <class T>
  T get() {
    T v;
    need(sizeof(T));
    std::memcpy(&v, in_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  template <class T>
  std::vector<T> get_array() {
    const auto n = get<std::uint64_t>();
    if (n > (in_.size() - pos_) / sizeof(T)) fail("array length past the end");
    std::vector<T> v(static_cast<std::size_t>(n));
    if (n > 0) std::memcpy(v.data(), in_.data() + pos_, n * sizeof(T));  // empty v: data() is null
    pos_ += n * sizeof(T);
    return v;
  }
  std::string get_string() {
    auto v = get_array<char>();
    return std::string(v.begin(), v.end());
  }
  bool at_end() const noexcept { return pos_ == in_.size(); }
  void done() const {
    if (pos_ != in_.size()) fail("trailing bytes");
  }

 private:
  void need(std::size_t n) const {
    if (in_.size() - pos_ < n) fail("truncated");
  }
  [[noreturn]] void fail(const char* problem) const {
    if (source_ == Source::file) throw InputError(what_ + ": " + problem);
    throw SystemError(what_ + ": " + problem);
  }
  std::span<const std::byte> in_;
  std::string what_;
  Source source_;
  std::size_t pos_ = 0;
};

/// FNV-1a, 64 bit: enough to tell a torn or garbled record from a whole one.
/// FNV-1a of `bytes`; pass the hash of the bytes before them as `h` to hash a sequence in pieces.
inline std::uint64_t fnv1a(std::span<const std::byte> bytes,
                           std::uint64_t h = 0xcbf29ce484222325ULL) noexcept {
  for (std::byte b : bytes) {
    h ^= static_cast<std::uint64_t>(b);
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace carlo::sched
