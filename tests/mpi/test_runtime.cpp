// The Runtime: how ranks are grouped into nodes, and world collectives of any size.
#include "mpi_test_env.h"
#include "mpi_test_util.h"
#include "transport/large_count.h"

#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

namespace carlo::transport {
namespace {

using test::runtime;

TEST(Runtime, NodesAreVirtualWhenRanksPerNodeIsSetElseOneForThisHost) {
  const Runtime& rt = runtime();
  const char* k_text = std::getenv("CARLO_RANKS_PER_NODE");
  if (k_text != nullptr) {
    const int k = std::atoi(k_text);
    EXPECT_EQ(rt.node_index(), rt.world_rank() / k);
    EXPECT_EQ(rt.node_rank(), rt.world_rank() % k);
    EXPECT_EQ(rt.node_count(), (rt.world_size() + k - 1) / k);
  } else {
    // Every test runs on one machine.
    EXPECT_EQ(rt.node_count(), 1);
    EXPECT_EQ(rt.node_index(), 0);
    EXPECT_EQ(rt.node_rank(), rt.world_rank());
    EXPECT_EQ(rt.node_size(), rt.world_size());
  }
  EXPECT_EQ(rt.is_leader(), rt.node_rank() == 0);
  EXPECT_FALSE(rt.host_name().empty());
}

// docs/running.md, "Open MPI start-up on one node": the tests run on one machine under mpiexec.
TEST(Runtime, AOneNodeJobWithNoPmlChosenRunsOverOb1) {
  const Runtime& rt = runtime();
  if (rt.pml_choice() == PmlChoice::user_env || rt.pml_choice() == PmlChoice::user_file ||
      rt.pml_choice() == PmlChoice::opted_out)
    GTEST_SKIP() << "a pml or mtl is chosen for this job (environment or parameter file)";
  EXPECT_EQ(rt.pml_choice(), PmlChoice::ob1) << "mpiexec on one machine said one node";
  EXPECT_EQ(rt.control_variable("pml"), "ob1") << "MPI_Init saw OMPI_MCA_pml=ob1";
}

TEST(Runtime, AllOkIsFalseEverywhereWhenOneRankFails) {
  const Runtime& rt = runtime();
  EXPECT_TRUE(rt.all_ok(true));
  EXPECT_FALSE(rt.all_ok(rt.world_rank() != rt.world_size() - 1));
}

TEST(Runtime, FirstErrorIsTheLowestFailingRanksMessageOnEveryRank) {
  const Runtime& rt = runtime();
  EXPECT_EQ(rt.first_error(""), "");
  const bool fails = rt.world_rank() % 2 == 1 || rt.world_size() == 1;
  const std::string expected = rt.world_size() == 1 ? "rank 0 failed" : "rank 1 failed";
  EXPECT_EQ(rt.first_error(fails ? "rank " + std::to_string(rt.world_rank()) + " failed" : ""),
            expected);
}

TEST(Runtime, BroadcastResizesReceiversAndCopiesRootsBytes) {
  const Runtime& rt = runtime();
  const int root = rt.world_size() - 1;
  std::vector<std::byte> data;
  if (rt.world_rank() == root)
    for (int i = 0; i < 100000; ++i) data.push_back(static_cast<std::byte>((i * 7) & 0xff));
  rt.broadcast(data, root);
  ASSERT_EQ(data.size(), 100000u);
  EXPECT_EQ(data[99999], static_cast<std::byte>((99999 * 7) & 0xff));
}

TEST(Runtime, ReduceSumAddsEveryRanksElementsOnRankZero) {
  const Runtime& rt = runtime();
  std::vector<std::uint64_t> data(1000);
  std::iota(data.begin(), data.end(), static_cast<std::uint64_t>(rt.world_rank()));
  rt.reduce_sum(data);
  const auto n = static_cast<std::uint64_t>(rt.world_size());
  if (rt.world_rank() == 0) {
    EXPECT_EQ(data[0], n * (n - 1) / 2);
    EXPECT_EQ(data[999], 999 * n + n * (n - 1) / 2);
  } else {
    EXPECT_EQ(data[999], 999u + static_cast<std::uint64_t>(rt.world_rank()));
  }
}

TEST(Runtime, BroadcastAndReduceSplitCountsAboveIntMaxIntoPieces) {
  // Zero-size elements: the same piece-wise code as broadcast()/reduce_sum(), no memory needed.
  const std::uint64_t count = 5 * std::uint64_t{INT_MAX} + 3;
  const std::uint64_t piece = detail::max_piece_count(0);
  ASSERT_LE(piece, static_cast<std::uint64_t>(INT_MAX));
  const std::uint64_t expected_calls = (count + piece - 1) / piece;
  EXPECT_EQ(detail::broadcast_zero_size_elements(runtime(), count), expected_calls);
  EXPECT_EQ(detail::reduce_zero_size_elements(runtime(), count), expected_calls);
  EXPECT_LE(detail::max_piece_count(8) * 8, std::uint64_t{INT_MAX});
}

}  // namespace
}  // namespace carlo::transport
