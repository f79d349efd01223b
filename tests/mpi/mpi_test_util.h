#pragma once
// Helpers for MPI tests: a temporary file every rank agrees on, and a checksum of bytes.

#include "transport/runtime.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace carlo::test {

/// A path under $TMPDIR (or /tmp) chosen by rank 0 and known to every rank; rank 0 removes the
/// file when the object goes (after a barrier, so no rank still reads it). Collective (world).
class SharedTempPath {
 public:
  SharedTempPath(const transport::Runtime& rt, const std::string& stem) : rt_(rt) {
    std::string name;
    if (rt.world_rank() == 0) {
      const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
      name = (std::filesystem::temp_directory_path() /
              ("carlo-" + stem + "-" + std::to_string(::getpid()) + "-" + test->name() + ".h5"))
                 .string();
    }
    std::vector<std::byte> bytes(reinterpret_cast<const std::byte*>(name.data()),
                                 reinterpret_cast<const std::byte*>(name.data()) + name.size());
    rt.broadcast(bytes, 0);
    path_.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  ~SharedTempPath() {
    rt_.barrier();
    if (rt_.world_rank() == 0) std::filesystem::remove(path_);
  }
  SharedTempPath(const SharedTempPath&) = delete;
  SharedTempPath& operator=(const SharedTempPath&) = delete;
  const std::string& str() const noexcept { return path_; }

 private:
  const transport::Runtime& rt_;
  std::string path_;
};

/// Position-dependent 64-bit checksum, continued over pieces: feed the bytes in order.
class Checksum {
 public:
  void add(const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    std::size_t i = 0;
    if (filled_ == 0)
      for (; i + 8 <= n; i += 8) {
        std::memcpy(&word_, p + i, 8);
        flush_word();
      }
    for (; i < n; ++i) {
      word_ |= std::uint64_t{p[i]} << (8 * filled_);
      if (++filled_ == 8) flush_word();
    }
  }
  std::uint64_t value() const {
    Checksum copy = *this;
    if (copy.filled_ > 0) copy.flush_word();
    return copy.hash_ ^ count_;
  }

 private:
  void flush_word() {
    hash_ = (hash_ ^ word_) * 0x100000001b3ULL + (hash_ >> 29);
    word_ = 0;
    filled_ = 0;
    ++count_;
  }
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
  std::uint64_t word_ = 0;
  std::uint64_t count_ = 0;
  int filled_ = 0;
};

/// Rank 0's value of `v`, on every rank. Collective (world).
inline std::uint64_t rank0_value(const transport::Runtime& rt, std::uint64_t v) {
  std::vector<std::byte> bytes(sizeof v);
  std::memcpy(bytes.data(), &v, sizeof v);
  rt.broadcast(bytes, 0);
  std::memcpy(&v, bytes.data(), sizeof v);
  return v;
}

}  // namespace carlo::test
