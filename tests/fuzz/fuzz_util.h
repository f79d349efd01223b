#pragma once
/// \file
/// Shared by the libFuzzer targets: the fuzzer's bytes as a real file (the readers take paths,
/// as carlo does), and how a target reports a finding (abort, so libFuzzer saves the input).
#include <carlo/error.h>

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <string>

namespace carlo::fuzz {

/// A file of this process (one per target and pid, so fuzzers running side by side never share
/// one) under $TMPDIR, rewritten by every input.
inline const std::string& scratch_path(const char* suffix) {
  static const std::string path = [suffix] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir && *dir ? dir : "/tmp") + "/carlo-fuzz-" + std::to_string(::getpid()) +
           suffix;
  }();
  return path;
}

inline void write_file(const std::string& path, const std::uint8_t* data, std::size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) {
    std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
}

/// A broken promise of the code under test: print it and abort (libFuzzer keeps the input).
[[noreturn]] inline void finding(const std::string& what) {
  std::fprintf(stderr, "FINDING: %s\n", what.c_str());
  std::abort();
}

/// Runs `f`; the reader's contract allows only a normal return or InputError. Any other exception
/// is a finding.
template <class F>
void expect_input_error_or_success(const char* what, F&& f) {
  try {
    f();
  } catch (const InputError&) {
  } catch (const std::exception& e) {
    finding(std::string(what) + " threw something other than InputError: " + e.what());
  } catch (...) {
    finding(std::string(what) + " threw a non-std exception");
  }
}

}  // namespace carlo::fuzz
