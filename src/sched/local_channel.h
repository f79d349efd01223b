#pragma once
/// \file
/// Channels between threads of one process: rank 0's own worker thread talks to the master through
/// one, and the scheduler's tests run whole runs on them without MPI. Thread-safe between
/// endpoints; each endpoint is used by one thread.

#include "sched/channel.h"

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>

namespace carlo::sched {

class LocalHub {
 public:
  explicit LocalHub(int size);
  /// Endpoint `rank`; the hub must outlive it. Call once per rank.
  std::unique_ptr<Channel> endpoint(int rank);

  struct Mailbox {
    std::mutex mutex;
    std::condition_variable ready;
    std::deque<Message> messages;
  };

 private:
  std::vector<std::unique_ptr<Mailbox>> boxes_;
};

}  // namespace carlo::sched
