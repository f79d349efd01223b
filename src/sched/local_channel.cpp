#include "sched/local_channel.h"

#include <carlo/error.h>

namespace carlo::sched {
namespace {

class LocalEndpoint final : public Channel {
 public:
  LocalEndpoint(std::vector<std::unique_ptr<LocalHub::Mailbox>>& boxes, int rank)
      : boxes_(boxes), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return static_cast<int>(boxes_.size()); }
  void send(int dest, int tag, std::vector<std::byte> payload) override {
    if (dest < 0 || dest >= size())
      throw SystemError("local channel: no rank " + std::to_string(dest));
    auto& box = *boxes_[static_cast<std::size_t>(dest)];
    {
      std::lock_guard lock(box.mutex);
      box.messages.push_back(Message{rank_, tag, std::move(payload)});
    }
    box.ready.notify_one();
  }
  std::optional<Message> try_receive() override {
    auto& box = mine();
    std::lock_guard lock(box.mutex);
    return pop(box);
  }
  std::optional<Message> receive(std::chrono::microseconds timeout) override {
    auto& box = mine();
    std::unique_lock lock(box.mutex);
    box.ready.wait_for(lock, timeout, [&] { return !box.messages.empty(); });
    return pop(box);
  }
  void flush() override {}

 private:
  LocalHub::Mailbox& mine() { return *boxes_[static_cast<std::size_t>(rank_)]; }
  static std::optional<Message> pop(LocalHub::Mailbox& box) {
    if (box.messages.empty()) return std::nullopt;
    Message m = std::move(box.messages.front());
    box.messages.pop_front();
    return m;
  }
  std::vector<std::unique_ptr<LocalHub::Mailbox>>& boxes_;
  int rank_;
};

}  // namespace

LocalHub::LocalHub(int size) {
  for (int i = 0; i < size; ++i) boxes_.push_back(std::make_unique<Mailbox>());
}

std::unique_ptr<Channel> LocalHub::endpoint(int rank) {
  return std::make_unique<LocalEndpoint>(boxes_, rank);
}

}  // namespace carlo::sched
