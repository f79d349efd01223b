#include "sched/run_loop.h"

#include <carlo/error.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <stdexcept>

namespace carlo::sched {
namespace {

using clock = std::chrono::steady_clock;
using std::chrono::microseconds;

constexpr auto kMinWait = microseconds(20);
constexpr auto kMaxWait = microseconds(1000);

int tag_of(Tag t) { return static_cast<int>(t); }

// Rank 0's master loop state: routes messages to worker w over `local` (w == 0) or `remote`.
class MasterLoop {
 public:
  MasterLoop(Master& m, Channel& remote, Channel& local, ResultSink& sink, const MasterHooks& hooks)
      : m_(m), remote_(remote), local_(local), sink_(sink), hooks_(hooks), t0_(clock::now()) {}

  double now() const { return std::chrono::duration<double>(clock::now() - t0_).count(); }

  void send(int w, Tag tag, std::vector<std::byte> payload) {
    if (w == 0) local_.send(1, tag_of(tag), std::move(payload));  // hub rank 1 = worker thread
    else remote_.send(w, tag_of(tag), std::move(payload));
  }

  // Sends worker w its acks and any new batches, if there is anything to say.
  void top_up(int w) {
    AssignMessage msg;
    msg.batches = m_.fill(w, now());
    msg.acks = m_.take_acks(w);
    if (msg.batches.empty() && msg.acks.empty()) return;
    if (hooks_.assigned)
      for (const auto& b : msg.batches) hooks_.assigned(w, b);
    send(w, Tag::assign, encode(msg));
  }

  // Asks every worker for its tallies (after the acks it is owed). Workers with a private store
  // answer with their tallies. Workers sharing a node store pause applying acks instead; once all
  // of them paused, each node's collector sends the node's tallies, then everyone resumes. So the
  // snapshot holds exactly the results accepted before it began, while workers keep computing.
  void start_snapshot() {
    if (hooks_.snapshot_begin) hooks_.snapshot_begin(m_);
    snapshot_waiting_ = m_.workers();
    snapshot_sum_.clear();
    paused_.clear();
    collectors_.clear();
    for (int w = 0; w < m_.workers(); ++w) {
      AssignMessage msg;
      msg.acks = m_.take_acks(w);
      send(w, Tag::snapshot, encode(msg));
    }
  }
  bool snapshot_pending() const { return snapshot_waiting_ > 0 || collect_waiting_ > 0; }

  void handle(int w, const Message& msg) {
    if (msg.tag == tag_of(Tag::stop)) {  // goodbye after our stop
      ++goodbyes_;
      return;
    }
    if (msg.tag == tag_of(Tag::snapshot) || msg.tag == tag_of(Tag::paused)) {
      if (msg.tag == tag_of(Tag::snapshot)) {
        add_to_snapshot(decode_tallies(msg.payload));
      } else {
        paused_.push_back(w);
        if (!msg.payload.empty() && msg.payload[0] != std::byte{0}) collectors_.push_back(w);
      }
      if (--snapshot_waiting_ > 0) return;
      if (collectors_.empty()) return end_snapshot();
      collect_waiting_ = static_cast<int>(collectors_.size());
      for (int c : collectors_) send(c, Tag::collect, {});
      return;
    }
    if (msg.tag == tag_of(Tag::collect)) {
      add_to_snapshot(decode_tallies(msg.payload));
      if (--collect_waiting_ == 0) end_snapshot();
      return;
    }
    if (msg.tag != tag_of(Tag::result))
      throw SystemError("master: unexpected message tag " + std::to_string(msg.tag));
    // Late results after the end (or an interrupt) are dropped: the stop already carried the
    // workers' last acks, so accepting one now would record a result whose tallies nobody keeps.
    if (m_.finished() || stopping_) return;
    BatchResult r = decode_result(msg.payload);
    auto out = m_.on_result(w, r, now());
    if (out.accepted) {
      for (const auto& piece : out.resolved) sink_.store(piece, r);
      if (hooks_.accepted) hooks_.accepted(w, r, out);
    } else if (hooks_.released) {
      hooks_.released(w, r.batch_id);
    }
    for (int other : out.cancel_on) send(other, Tag::cancel, encode_id(r.batch_id));
    if (!m_.finished()) {
      top_up(w);
      // Work may have appeared for idle workers (a retry); hand it out now.
      for (int v = 0; v < m_.workers(); ++v)
        if (v != w && m_.holding(v) == 0) top_up(v);
    }
  }

  // Drains both channels; true if anything arrived.
  bool poll() {
    bool any = false;
    while (auto msg = local_.try_receive()) {
      handle(0, *msg);
      any = true;
    }
    while (auto msg = remote_.try_receive()) {
      handle(msg->source, *msg);
      any = true;
    }
    return any;
  }

  // Sleeps until something may have arrived: wakes at once for the local worker, within
  // kMaxWait for remote ones.
  void wait(microseconds& backoff) {
    if (auto msg = local_.receive(backoff)) {
      handle(0, *msg);
      backoff = kMinWait;
      return;
    }
    backoff = std::min(backoff * 2, kMaxWait);
  }

  int goodbyes_ = 0;
  bool stopping_ = false;

 private:
  void add_to_snapshot(std::vector<std::vector<std::uint64_t>>&& t) {
    if (snapshot_sum_.empty()) snapshot_sum_ = std::move(t);
    else
      for (std::size_t k = 0; k < t.size(); ++k)
        for (std::size_t i = 0; i < t[k].size(); ++i) snapshot_sum_[k][i] += t[k][i];
  }
  void end_snapshot() {
    if (hooks_.snapshot_done) hooks_.snapshot_done(std::move(snapshot_sum_));
    snapshot_sum_.clear();
    for (int w : paused_) send(w, Tag::resume, {});
    paused_.clear();
    collectors_.clear();
  }

  Master& m_;
  Channel& remote_;
  Channel& local_;
  ResultSink& sink_;
  const MasterHooks& hooks_;
  clock::time_point t0_;
  int snapshot_waiting_ = 0;  // workers yet to answer the snapshot request
  int collect_waiting_ = 0;   // collectors yet to send their node's tallies
  std::vector<int> paused_, collectors_;
  std::vector<std::vector<std::uint64_t>> snapshot_sum_;
};

}  // namespace

bool run_master(Master& master, Channel& remote, Channel& local, ResultSink& sink,
                const MasterHooks& hooks) {
  MasterLoop loop(master, remote, local, sink, hooks);
  const int workers = master.workers();
  if (workers != std::max(1, remote.size()))
    throw SystemError("master: worker count does not match the channel");
  for (int w = 0; w < workers; ++w) loop.top_up(w);

  bool interrupted = false;
  double last_progress = -1, last_idle_check = 0, last_snapshot = 0;
  microseconds backoff = kMinWait;
  while (!master.finished()) {
    if (hooks.interrupt && hooks.interrupt->load()) {
      interrupted = true;
      break;
    }
    if (loop.poll()) backoff = kMinWait;
    else loop.wait(backoff);
    const double t = loop.now();
    if (t - last_idle_check > 0.05) {  // stragglers: idle workers may take an overdue batch
      last_idle_check = t;
      for (int v = 0; v < workers; ++v)
        if (master.holding(v) == 0) loop.top_up(v);
    }
    if (hooks.snapshot_every > 0 && t - last_snapshot >= hooks.snapshot_every &&
        !loop.snapshot_pending()) {
      last_snapshot = t;
      loop.start_snapshot();
    }
    if (hooks.progress && t - last_progress >= 0.1) {
      last_progress = t;
      hooks.progress(master, t, false);
    }
  }

  loop.stopping_ = true;
  // A snapshot in flight ends first: paused workers must resume (and apply their acks) before
  // they can stop.
  while (loop.snapshot_pending()) {
    if (!loop.poll()) loop.wait(backoff);
  }
  // Stop everyone (with their final acks), then wait for each goodbye so no message is left in
  // flight when the ranks move on to the collective reduction.
  for (int w = 0; w < workers; ++w) {
    AssignMessage fin;
    fin.acks = master.take_acks(w);
    loop.send(w, Tag::stop, encode(fin));
  }
  microseconds wait = kMinWait;
  while (loop.goodbyes_ < workers) {
    if (!loop.poll()) loop.wait(wait);
  }
  remote.flush();
  if (hooks.progress) hooks.progress(master, loop.now(), true);
  return interrupted;
}

void run_worker(Channel& channel, int master_rank, TaskRunner& runner,
                std::vector<std::vector<std::uint64_t>>& tallies) {
  TallyStore store(runner.tally_specs());
  run_worker(channel, master_rank, runner, store);
  tallies = store.contents();
}

void run_worker(Channel& channel, int master_rank, TaskRunner& runner, TallyStore& store) {
  if (store.size() != runner.tally_specs().size())
    throw std::logic_error("run_worker: the tally store does not match the simulation");
  std::deque<Batch> queue;
  std::map<std::uint64_t, TallyLog> pending;  // tallies of results not yet acknowledged
  std::vector<std::uint64_t> held;  // accepted while paused for a snapshot; applied on resume
  bool paused = false;
  bool stop = false;
  std::uint64_t current = 0;  // batch being computed (0: none)
  bool cancel_current = false;

  auto apply_acks = [&](const std::vector<Ack>& acks) {
    for (const auto& a : acks) {
      auto it = pending.find(a.batch_id);
      if (it == pending.end()) continue;
      if (a.accepted && paused) {
        held.push_back(a.batch_id);
        continue;
      }
      if (a.accepted) store.apply(it->second);
      pending.erase(it);
    }
  };
  auto resume = [&] {
    paused = false;
    for (std::uint64_t id : held) {
      auto it = pending.find(id);
      store.apply(it->second);
      pending.erase(it);
    }
    held.clear();
  };
  auto send_cancelled = [&](std::uint64_t id) {
    BatchResult r;
    r.batch_id = id;
    r.cancelled = true;
    channel.send(master_rank, tag_of(Tag::result), encode(r));
  };
  auto handle = [&](const Message& msg) {
    if (msg.tag == tag_of(Tag::assign)) {
      auto a = decode_assign(msg.payload);
      apply_acks(a.acks);
      for (auto& b : a.batches) queue.push_back(std::move(b));
    } else if (msg.tag == tag_of(Tag::cancel)) {
      const auto id = decode_id(msg.payload);
      if (id == current) {
        cancel_current = true;
      } else {
        auto it =
            std::find_if(queue.begin(), queue.end(), [&](const Batch& b) { return b.id == id; });
        if (it != queue.end()) {
          queue.erase(it);
          send_cancelled(id);
        }
      }
    } else if (msg.tag == tag_of(Tag::snapshot)) {
      apply_acks(decode_assign(msg.payload).acks);
      if (!store.shared()) {
        channel.send(master_rank, tag_of(Tag::snapshot), encode_tallies(store.contents()));
      } else {
        store.flush();
        paused = true;
        channel.send(master_rank, tag_of(Tag::paused),
                     {std::byte{store.collector() ? std::uint8_t{1} : std::uint8_t{0}}});
      }
    } else if (msg.tag == tag_of(Tag::collect)) {
      channel.send(master_rank, tag_of(Tag::collect), encode_tallies(store.contents()));
    } else if (msg.tag == tag_of(Tag::resume)) {
      resume();
    } else if (msg.tag == tag_of(Tag::stop)) {
      resume();  // the master ends any snapshot before it stops; this is belt and braces
      apply_acks(decode_assign(msg.payload).acks);
      stop = true;
    } else {
      throw SystemError("worker: unexpected message tag " + std::to_string(msg.tag));
    }
  };
  auto drain = [&] {
    while (auto msg = channel.try_receive()) handle(*msg);
  };

  microseconds backoff = kMinWait;
  while (!stop) {
    drain();
    if (stop) break;
    if (queue.empty()) {
      if (auto msg = channel.receive(backoff)) {
        handle(*msg);
        backoff = kMinWait;
      } else {
        backoff = std::min(backoff * 2, kMaxWait);
      }
      continue;
    }
    Batch b = std::move(queue.front());
    queue.pop_front();
    current = b.id;
    cancel_current = false;
    TallyLog log;
    BatchResult r = runner.run(b, log, [&] {
      drain();
      return stop || cancel_current;
    });
    current = 0;
    if (stop) break;
    if (r.cancelled || cancel_current) {
      send_cancelled(b.id);
      continue;
    }
    if (!log.empty()) pending.emplace(b.id, std::move(log));
    channel.send(master_rank, tag_of(Tag::result), encode(r));
  }
  store.flush();  // before the goodbye: the node's store is complete once every rank said it
  channel.send(master_rank, tag_of(Tag::stop), {});
  channel.flush();
}

}  // namespace carlo::sched
