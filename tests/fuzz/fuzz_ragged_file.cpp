/// \file
/// Fuzzes the ragged-file validator io::RaggedReader (docs/data-format.md) with mutated HDF5
/// files: contiguous and chunked(+gzip) values, each dtype, uint64 and int64 offsets. Contract:
/// opening either throws InputError naming the file, or gives a RaggedInfo whose offsets read and
/// validate (or throw InputError) and whose values read (or throw InputError). When the info says
/// the values are contiguous in native order (what `carlo run` memory-maps), the file's bytes at
/// values_file_offset must be the values HDF5 reads.
#include "fuzz_util.h"
#include "io/ragged_file.h"

#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

using carlo::fuzz::finding;

// Arrays larger than this are opened and checked but not read: a few KB of file can declare
// 2^60 rows, and reading them is the engine's job (it checks sizes against memory first).
constexpr std::uint64_t kMaxRead = std::uint64_t{1} << 20;

void check_mapped_bytes(const carlo::io::RaggedInfo& info, const std::uint8_t* file,
                        std::size_t file_size, const std::vector<char>& values) {
  if (!info.values_contiguous || !info.values_native_order) return;
  const std::uint64_t bytes = values.size();
  // Past the end of the file the engine refuses with "file is truncated" before mapping.
  if (info.values_file_offset > file_size || bytes > file_size - info.values_file_offset) return;
  if (bytes > 0 && std::memcmp(file + info.values_file_offset, values.data(), bytes) != 0)
    finding("ragged: bytes at values_file_offset differ from the values HDF5 reads");
}

void read_all(const carlo::io::RaggedReader& r, const std::uint8_t* file, std::size_t size) {
  const carlo::io::RaggedInfo& info = r.info();
  if (info.rows >= kMaxRead || info.n_values >= kMaxRead) return;
  std::vector<std::uint64_t> offsets(info.rows + 1);
  r.read_offsets(offsets);
  if (offsets.front() != 0 || offsets.back() != info.n_values)
    finding("ragged: read_offsets accepted offsets not from 0 to n_values");
  for (std::size_t i = 1; i < offsets.size(); ++i)
    if (offsets[i] < offsets[i - 1]) finding("ragged: read_offsets accepted decreasing offsets");
  std::vector<char> values(info.n_values * carlo::dtype_size(info.dtype));
  r.read_values(0, info.n_values, values.data());
  check_mapped_bytes(info, file, size, values);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = carlo::fuzz::scratch_path(".h5");
  carlo::fuzz::write_file(path, data, size);
  carlo::fuzz::expect_input_error_or_success("RaggedReader", [&] {
    const carlo::io::RaggedReader r(path);
    if (r.info().rows + 1 == 0) finding("ragged: rows + 1 overflows");
    read_all(r, data, size);
  });
  return 0;
}
