// A ragged array of more than 2^31 elements (int8, ~2.15 GB) loads into a node window intact, and
// maps intact (--share mmap): every count on the way (HDF5, MPI, the window, the mapping and its
// populating) is 64-bit or split.
#include "engine/shared_data.h"
#include "io/ragged_file.h"
#include "mpi_test_env.h"
#include "mpi_test_util.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace carlo::engine {
namespace {

using test::Checksum;
using test::rank0_value;
using test::runtime;
using test::SharedTempPath;

constexpr std::uint64_t kValues = (std::uint64_t{1} << 31) + 123'457;
constexpr std::uint64_t kRows = 4000;

std::int8_t value_at(std::uint64_t g) { return static_cast<std::int8_t>(g % 251); }

// Row lengths around kValues / kRows, with empty rows, summing to kValues exactly.
std::vector<std::uint64_t> row_lengths() {
  std::vector<std::uint64_t> lengths(kRows);
  const std::uint64_t base = kValues / kRows;
  std::uint64_t total = 0;
  for (std::uint64_t i = 0; i + 1 < kRows; ++i) {
    lengths[i] = i % 500 == 5 ? 0 : base + (i % 3) * 1000 - 1000;
    total += lengths[i];
  }
  lengths[kRows - 1] = kValues - total;
  return lengths;
}

void write_file(const std::string& path, const std::vector<std::uint64_t>& lengths) {
  io::RaggedWriter writer(path, DType::int8, kValues, {});
  std::vector<std::int8_t> row;
  std::uint64_t g = 0;
  for (std::uint64_t length : lengths) {
    row.resize(length);
    auto counter = static_cast<unsigned>(g % 251);
    for (auto& x : row) {
      x = static_cast<std::int8_t>(counter);
      counter = counter == 250 ? 0 : counter + 1;
    }
    writer.append_row(row.data(), length);
    g += length;
  }
  writer.finish();
}

std::uint64_t checksum_of_file_values(const std::string& path) {
  io::RaggedReader reader(path);
  std::vector<std::int8_t> piece(std::uint64_t{1} << 28);
  Checksum sum;
  for (std::uint64_t first = 0; first < kValues; first += piece.size()) {
    const std::uint64_t n = std::min<std::uint64_t>(piece.size(), kValues - first);
    reader.read_values(first, n, piece.data());
    sum.add(piece.data(), n);
  }
  return sum.value();
}

TEST(LargeFile, MoreThan2To31ElementsLoadIntoAWindowAndAMappingIntact) {
  const std::vector<std::uint64_t> lengths = row_lengths();
  SharedTempPath path(runtime(), "above-2g");
  std::uint64_t file_checksum = 0;
  if (runtime().world_rank() == 0) {
    write_file(path.str(), lengths);
    file_checksum = checksum_of_file_values(path.str());
  }
  file_checksum = rank0_value(runtime(), file_checksum);

  {
    SharedRagged data = load_shared_ragged(runtime(), path.str(), "/", ShareMode::window);
    const RaggedView view = data.view();
    ASSERT_EQ(view.n_values, kValues);
    ASSERT_EQ(view.rows, kRows);
    std::uint64_t wrong_lengths = 0;
    std::uint64_t wrong_ends = 0;
    for (std::uint64_t i = 0; i < kRows; ++i) {
      wrong_lengths += view.row_length(i) != lengths[i];
      const auto row = view.row<std::int8_t>(i);
      if (!row.empty())
        wrong_ends += (row.front() != value_at(view.offsets[i])) +
                      (row.back() != value_at(view.offsets[i + 1] - 1));
    }
    EXPECT_EQ(wrong_lengths, 0u);
    EXPECT_EQ(wrong_ends, 0u);
    EXPECT_EQ(view.all<std::int8_t>().back(), value_at(kValues - 1));
    Checksum sum;
    sum.add(view.values, view.value_bytes());
    EXPECT_EQ(sum.value(), file_checksum);
  }
  {
    SharedRagged data = load_shared_ragged(runtime(), path.str(), "/", ShareMode::mmap);
    const RaggedView view = data.view();
    ASSERT_EQ(view.n_values, kValues);
    EXPECT_EQ(view.all<std::int8_t>().back(), value_at(kValues - 1));
    Checksum sum;
    sum.add(view.values, view.value_bytes());
    EXPECT_EQ(sum.value(), file_checksum);
  }
}

}  // namespace
}  // namespace carlo::engine
