// carlo::datagen, the generators behind `carlo gen`, called as a library: the file holds exactly
// what the config asks for, progress ends at the total, and a config outside its ranges is
// refused before any file is made. (io_cli.py checks determinism and the values end to end.)
#include "datagen/datagen.h"
#include "io/ragged_file.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace carlo::datagen {
namespace {

namespace fs = std::filesystem;

class Datagen : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("carlo-datagen-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

TEST_F(Datagen, GroupsHoldTheConfiguredRowsAndValuesAndProgressEndsAtTheTotal) {
  const GroupsConfig config{.rows = 40, .bytes = 4096, .dtype = DType::int32, .seed = 2};
  std::uint64_t last_done = 0, last_total = 0;
  generate_groups(config, path("g.h5"), [&](std::uint64_t done, std::uint64_t total) {
    EXPECT_GE(done, last_done);
    last_done = done;
    last_total = total;
  });
  const io::RaggedReader reader(path("g.h5"));
  EXPECT_EQ(reader.info().dtype, DType::int32);
  EXPECT_EQ(reader.info().rows, 40u);
  EXPECT_EQ(reader.info().n_values, 1024u);
  EXPECT_EQ(last_done, 4096u);
  EXPECT_EQ(last_total, 4096u);
}

TEST_F(Datagen, GraphRowsAreSortedNeighbourIdsOfEveryNode) {
  const GraphConfig config{.scale = 6, .edge_factor = 4, .seed = 3};
  generate_graph(config, path("graph.h5"));
  const io::RaggedReader reader(path("graph.h5"));
  ASSERT_EQ(reader.info().dtype, DType::int64);
  ASSERT_EQ(reader.info().rows, 64u);
  ASSERT_EQ(reader.info().n_values, 256u);
  std::vector<std::uint64_t> offsets(65);
  reader.read_offsets(offsets);
  std::vector<std::int64_t> ids(256);
  reader.read_values(0, ids.size(), ids.data());
  for (std::size_t u = 0; u < 64; ++u) {
    const auto first = ids.begin() + static_cast<std::ptrdiff_t>(offsets[u]);
    const auto last = ids.begin() + static_cast<std::ptrdiff_t>(offsets[u + 1]);
    EXPECT_TRUE(std::is_sorted(first, last)) << "row " << u;
    EXPECT_TRUE(std::all_of(first, last, [](std::int64_t v) { return v >= 0 && v < 64; }));
  }
}

TEST_F(Datagen, ConfigsOutsideTheirRangesAreRefusedWithoutAFile) {
  EXPECT_THROW(generate_groups({.rows = 0, .bytes = 8}, path("a.h5")), std::invalid_argument);
  EXPECT_THROW(generate_groups({.rows = 3, .bytes = 12}, path("a.h5")), std::invalid_argument);
  EXPECT_THROW(generate_graph({.scale = 33}, path("a.h5")), std::invalid_argument);
  EXPECT_THROW(generate_graph({.scale = 4, .edge_factor = 0}, path("a.h5")), std::invalid_argument);
  EXPECT_FALSE(fs::exists(path("a.h5")));
}

}  // namespace
}  // namespace carlo::datagen
