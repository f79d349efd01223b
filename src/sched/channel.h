#pragma once
/// \file
/// The message channel the scheduler is written against. Implementations: MPI (transport layer,
/// src/transport/) and in-process threads (tests), so the scheduling logic is tested without MPI.
#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

namespace carlo::sched {

struct Message {
  int source = -1;
  int tag = 0;
  std::vector<std::byte> payload;
};

/// Point-to-point messages between the ranks of one run. Messages from one sender to one receiver
/// arrive in the order sent. Not thread-safe: one thread per rank uses it.
class Channel {
 public:
  virtual ~Channel() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// Starts sending and returns without waiting for the receiver; the channel keeps the payload
  /// until it is delivered. Any size (payloads above 2^31 bytes are split by the implementation).
  virtual void send(int dest, int tag, std::vector<std::byte> payload) = 0;
  /// A message that has arrived, if any; never waits.
  virtual std::optional<Message> try_receive() = 0;
  /// Waits up to `timeout` for a message. Waiting sleeps between checks (no core is spun).
  virtual std::optional<Message> receive(std::chrono::microseconds timeout) = 0;
  /// Blocks until every send started on this channel has completed (before teardown).
  virtual void flush() = 0;
};

}  // namespace carlo::sched
