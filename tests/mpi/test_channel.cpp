// The scheduler's Channel over MPI: ordered delivery per sender, any source, waits that sleep.
#include "mpi_test_env.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <map>
#include <vector>

namespace carlo::transport {
namespace {

using test::runtime;

std::vector<std::byte> encode(std::uint64_t a, std::uint64_t b) {
  std::vector<std::byte> out(16);
  std::memcpy(out.data(), &a, 8);
  std::memcpy(out.data() + 8, &b, 8);
  return out;
}

std::uint64_t field(const std::vector<std::byte>& payload, int i) {
  std::uint64_t v = 0;
  std::memcpy(&v, payload.data() + 8 * i, 8);
  return v;
}

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

TEST(MpiChannel, MessagesFromEachSenderArriveInTheOrderSent) {
  auto channel = runtime().make_channel();
  const int size = channel->size();
  constexpr std::uint64_t kPerSender = 300;
  // Every rank sends to rank 0 (rank 0 to itself too), tag = sequence number % 7.
  for (std::uint64_t i = 0; i < kPerSender; ++i)
    channel->send(0, static_cast<int>(i % 7),
                  encode(static_cast<std::uint64_t>(channel->rank()), i));
  if (channel->rank() == 0) {
    std::map<int, std::uint64_t> next;
    for (std::uint64_t received = 0; received < kPerSender * static_cast<std::uint64_t>(size);
         ++received) {
      auto message = channel->receive(std::chrono::seconds(60));
      ASSERT_TRUE(message) << "nothing arrived after " << received << " messages";
      ASSERT_EQ(static_cast<std::uint64_t>(message->source), field(message->payload, 0));
      const std::uint64_t sequence = field(message->payload, 1);
      EXPECT_EQ(sequence, next[message->source]++) << "from rank " << message->source;
      EXPECT_EQ(message->tag, static_cast<int>(sequence % 7));
    }
    EXPECT_FALSE(channel->try_receive());
  }
  channel->flush();
  runtime().barrier();
}

TEST(MpiChannel, EmptyPayloadsAreMessagesToo) {
  auto channel = runtime().make_channel();
  const int next = (channel->rank() + 1) % channel->size();
  channel->send(next, 3, {});
  auto message = channel->receive(std::chrono::seconds(60));
  ASSERT_TRUE(message);
  EXPECT_EQ(message->tag, 3);
  EXPECT_EQ(message->source, (channel->rank() + channel->size() - 1) % channel->size());
  EXPECT_TRUE(message->payload.empty());
  channel->flush();
  runtime().barrier();
}

TEST(MpiChannel, ReceiveWithNothingToComeTimesOutWithoutSpinningACore) {
  auto channel = runtime().make_channel();
  const double cpu_before = cpu_seconds();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(channel->receive(std::chrono::milliseconds(300)));
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = cpu_seconds() - cpu_before;
  EXPECT_GE(waited, 0.3);
  // A busy-polling wait would burn about 0.3 s of CPU; sleeping between checks burns a few ms.
  EXPECT_LT(cpu, 0.1) << "CPU seconds used while waiting " << waited << " s";
  runtime().barrier();
}

TEST(MpiChannel, TagsOutsideTheUsableRangeAreRefused) {
  auto channel = runtime().make_channel();
  EXPECT_THROW(channel->send(0, -1, {}), std::invalid_argument);
  EXPECT_THROW(channel->send(channel->size(), 0, {}), std::invalid_argument);
  runtime().barrier();
}

}  // namespace
}  // namespace carlo::transport
