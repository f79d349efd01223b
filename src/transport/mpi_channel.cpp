// The scheduler's Channel over MPI point-to-point messages.
//
// Wire format: a payload of at most kMaxPieceBytes travels as one message with tag 2*tag. A larger
// one is announced by a header (tag 2*tag+1, its total size as uint64) and follows in pieces on a
// second communicator; MPI's non-overtaking rule keeps both the headers and the pieces of one
// sender in order, so the receiver can take the pieces of the header it matched.
//
// Nothing here calls a blocking MPI function on a path that may wait for another rank: Open MPI
// busy-polls in those, and the ranks of a node share their cores with the simulations.

#include "transport/mpi_detail.h"

#include <carlo/error.h>

#include <algorithm>
#include <chrono>
#include <list>
#include <stdexcept>
#include <string>
#include <thread>

namespace carlo::transport {

namespace {

using detail::check;
using detail::kMaxPieceBytes;
using detail::to_int;

class MpiChannel final : public sched::Channel {
 public:
  explicit MpiChannel(MPI_Comm world)
      : messages_(detail::dup_with_errors_return(world)),
        pieces_(detail::dup_with_errors_return(world)) {
    check(MPI_Comm_rank(messages_, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(messages_, &size_), "MPI_Comm_size");
    int* tag_ub = nullptr;
    int found = 0;
    check(MPI_Comm_get_attr(messages_, MPI_TAG_UB, &tag_ub, &found), "MPI_Comm_get_attr");
    max_tag_ = found && tag_ub ? (*tag_ub - 1) / 2 : (32767 - 1) / 2;
  }

  ~MpiChannel() override {
    // flush() is the contract before teardown. If it was skipped (an exception is unwinding),
    // never free a buffer MPI may still read: release the requests and leak their payloads.
    static auto* leaked = new std::list<Pending>;  // intentionally never freed, see above
    for (auto it = pending_.begin(); it != pending_.end();) {
      int done = 0;
      if (MPI_Testall(static_cast<int>(it->requests.size()), it->requests.data(), &done,
                      MPI_STATUSES_IGNORE) == MPI_SUCCESS &&
          done) {
        ++it;
        continue;
      }
      for (MPI_Request& r : it->requests)
        if (r != MPI_REQUEST_NULL) MPI_Request_free(&r);
      leaked->splice(leaked->end(), pending_, it++);  // splice keeps the element's address
    }
    pending_.clear();
    detail::free_comm(pieces_);
    detail::free_comm(messages_);
  }

  MpiChannel(const MpiChannel&) = delete;
  MpiChannel& operator=(const MpiChannel&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void send(int dest, int tag, std::vector<std::byte> payload) override {
    if (dest < 0 || dest >= size_)
      throw std::invalid_argument("Channel::send: no rank " + std::to_string(dest));
    if (tag < 0 || tag > max_tag_)
      throw std::invalid_argument("Channel::send: tag " + std::to_string(tag) + " outside 0.." +
                                  std::to_string(max_tag_));
    reap();
    Pending& p = pending_.emplace_back();
    p.payload = std::move(payload);
    const std::uint64_t size = p.payload.size();
    if (size <= kMaxPieceBytes) {
      p.requests.resize(1);
      check(MPI_Isend(p.payload.data(), to_int(size, "MPI_Isend"), MPI_BYTE, dest, 2 * tag,
                      messages_, &p.requests[0]),
            "MPI_Isend");
      return;
    }
    p.header = size;
    p.requests.resize(1 + (size + kMaxPieceBytes - 1) / kMaxPieceBytes);
    check(MPI_Isend(&p.header, 1, MPI_UINT64_T, dest, 2 * tag + 1, messages_, &p.requests[0]),
          "MPI_Isend");
    for (std::uint64_t first = 0, i = 1; first < size; first += kMaxPieceBytes, ++i) {
      const std::uint64_t n = std::min(kMaxPieceBytes, size - first);
      check(MPI_Isend(p.payload.data() + first, to_int(n, "MPI_Isend"), MPI_BYTE, dest, 0, pieces_,
                      &p.requests[i]),
            "MPI_Isend");
    }
  }

  std::optional<sched::Message> try_receive() override {
    reap();
    int found = 0;
    MPI_Message handle = MPI_MESSAGE_NULL;
    MPI_Status status{};
    check(MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, messages_, &found, &handle, &status),
          "MPI_Improbe");
    if (!found) return std::nullopt;
    sched::Message message;
    message.source = status.MPI_SOURCE;
    message.tag = status.MPI_TAG / 2;
    if (status.MPI_TAG % 2 == 0) {
      int count = 0;
      check(MPI_Get_count(&status, MPI_BYTE, &count), "MPI_Get_count");
      message.payload.resize(static_cast<std::size_t>(count));
      // The matched message has arrived: this receive only copies it.
      check(MPI_Mrecv(message.payload.data(), count, MPI_BYTE, &handle, MPI_STATUS_IGNORE),
            "MPI_Mrecv");
      return message;
    }
    std::uint64_t size = 0;
    check(MPI_Mrecv(&size, 1, MPI_UINT64_T, &handle, MPI_STATUS_IGNORE), "MPI_Mrecv");
    message.payload.resize(size);
    std::vector<MPI_Request> requests;
    for (std::uint64_t first = 0; first < size; first += kMaxPieceBytes) {
      const std::uint64_t n = std::min(kMaxPieceBytes, size - first);
      check(MPI_Irecv(message.payload.data() + first, to_int(n, "MPI_Irecv"), MPI_BYTE,
                      message.source, 0, pieces_, &requests.emplace_back()),
            "MPI_Irecv");
    }
    detail::wait_sleeping(requests.data(), requests.size(), "MPI_Testall (receiving pieces)");
    return message;
  }

  std::optional<sched::Message> receive(std::chrono::microseconds timeout) override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto pause = std::chrono::microseconds(20);
    for (;;) {
      if (auto message = try_receive()) return message;
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return std::nullopt;
      std::this_thread::sleep_for(
          std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
      pause = std::min(pause * 2, std::chrono::microseconds(1000));
    }
  }

  void flush() override {
    std::vector<MPI_Request> requests;
    for (Pending& p : pending_)
      requests.insert(requests.end(), p.requests.begin(), p.requests.end());
    detail::wait_sleeping(requests.data(), requests.size(), "MPI_Testall (flushing sends)");
    pending_.clear();
  }

 private:
  struct Pending {
    std::vector<MPI_Request> requests;
    std::vector<std::byte> payload;  ///< kept alive until every request completes
    std::uint64_t header = 0;        ///< size announced for a payload sent in pieces
  };

  // Drops the sends that have completed, so payloads do not pile up.
  void reap() {
    for (auto it = pending_.begin(); it != pending_.end();) {
      int done = 0;
      check(MPI_Testall(to_int(it->requests.size(), "MPI_Testall"), it->requests.data(), &done,
                        MPI_STATUSES_IGNORE),
            "MPI_Testall");
      it = done ? pending_.erase(it) : std::next(it);
    }
  }

  MPI_Comm messages_ = MPI_COMM_NULL;
  MPI_Comm pieces_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  int max_tag_ = 0;
  std::list<Pending> pending_;  ///< a list: MPI holds pointers into its elements
};

}  // namespace

std::unique_ptr<sched::Channel> Runtime::make_channel() const {
  return std::make_unique<MpiChannel>(impl_->world);
}

}  // namespace carlo::transport
