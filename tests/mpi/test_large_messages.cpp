// Transfers above 2^31 bytes and pieces of collectives, with real buffers (2 ranks).
#include "mpi_test_env.h"

#include <gtest/gtest.h>

#include <chrono>
#include <climits>
#include <cstdint>
#include <cstring>
#include <vector>

namespace carlo::transport {
namespace {

using test::runtime;

constexpr std::uint64_t kBigBytes = (std::uint64_t{1} << 31) + 150'000'000;  // ~2.3 GB
static_assert(kBigBytes % 8 == 0);

// Word i of the pattern: distinct for every word, so a misplaced piece shows.
std::uint64_t pattern(std::uint64_t i) { return i * 0x9E3779B97F4A7C15ULL + 12345; }

std::vector<std::byte> big_buffer() {
  std::vector<std::byte> data(kBigBytes);
  for (std::uint64_t i = 0; i < kBigBytes / 8; ++i) {
    const std::uint64_t w = pattern(i);
    std::memcpy(data.data() + 8 * i, &w, 8);
  }
  return data;
}

// Byte offset of the first word that differs from the pattern, or kBigBytes.
std::uint64_t first_mismatch(const std::vector<std::byte>& data) {
  if (data.size() != kBigBytes) return 0;
  for (std::uint64_t i = 0; i < kBigBytes / 8; ++i) {
    std::uint64_t w = 0;
    std::memcpy(&w, data.data() + 8 * i, 8);
    if (w != pattern(i)) return 8 * i;
  }
  return kBigBytes;
}

TEST(LargeMessages, AChannelPayloadAbove2GiBArrivesIntactAndInOrder) {
  auto channel = runtime().make_channel();
  const int last = channel->size() - 1;
  if (channel->rank() == 0) {
    channel->send(last, 1, big_buffer());
    channel->send(last, 2, std::vector<std::byte>(3, std::byte{7}));
  }
  if (channel->rank() == last) {
    auto big = channel->receive(std::chrono::minutes(5));
    ASSERT_TRUE(big);
    EXPECT_EQ(big->tag, 1);
    EXPECT_EQ(big->source, 0);
    EXPECT_EQ(first_mismatch(big->payload), kBigBytes);
    auto small = channel->receive(std::chrono::minutes(1));
    ASSERT_TRUE(small);
    EXPECT_EQ(small->tag, 2);
    EXPECT_EQ(small->payload.size(), 3u);
  }
  channel->flush();
  runtime().barrier();
}

TEST(LargeMessages, ABroadcastAbove2GiBArrivesIntact) {
  std::vector<std::byte> data;
  if (runtime().world_rank() == 0) data = big_buffer();
  runtime().broadcast(data, 0);
  EXPECT_EQ(first_mismatch(data), kBigBytes);
}

TEST(LargeMessages, AReduceSpanningSeveralPiecesSumsEveryElement) {
  // 2^27 uint64 = 1 GiB is one piece; three more elements start a second.
  const std::uint64_t n = (std::uint64_t{1} << 27) + 3;
  std::vector<std::uint64_t> data(n);
  const auto r = static_cast<std::uint64_t>(runtime().world_rank());
  for (std::uint64_t i = 0; i < n; ++i) data[i] = i + r;
  runtime().reduce_sum(data);
  if (runtime().world_rank() == 0) {
    const auto size = static_cast<std::uint64_t>(runtime().world_size());
    const std::uint64_t ranks_sum = size * (size - 1) / 2;
    std::uint64_t wrong = 0;
    for (std::uint64_t i = 0; i < n; ++i) wrong += data[i] != i * size + ranks_sum;
    EXPECT_EQ(wrong, 0u);
  }
}

}  // namespace
}  // namespace carlo::transport
