#include "sched/run_loop.h"

#include "core/tally_words.h"

#include <carlo/error.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace carlo::sched {
namespace {

using clock = std::chrono::steady_clock;
using std::chrono::microseconds;

constexpr auto kMinWait = microseconds(20);
constexpr auto kMaxWait = microseconds(1000);
constexpr auto kPollBudget = std::chrono::milliseconds(50);

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

  // Handles what has arrived on both channels, for at most kPollBudget: when results arrive as
  // fast as they are written (one-point tasks, a slow file system), draining until empty would
  // never return, and signals, checkpoints and progress would wait for the end of the run.
  // True if anything arrived.
  bool poll() {
    const auto until = clock::now() + kPollBudget;
    bool any = false;
    while (auto msg = local_.try_receive()) {
      handle(0, *msg);
      any = true;
      if (clock::now() >= until) return true;
    }
    while (auto msg = remote_.try_receive()) {
      handle(msg->source, *msg);
      any = true;
      if (clock::now() >= until) return true;
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
    else add_tallies(snapshot_sum_, t, hooks_.tally_specs);
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
  Worker(channel, master_rank, runner, store).run();
}

Worker::Worker(Channel& channel, int master_rank, TaskRunner& runner, TallyStore& store)
    : channel_(channel), master_rank_(master_rank), runner_(runner), store_(store),
      backoff_(kMinWait) {
  if (store.size() != runner.tally_specs().size())
    throw std::logic_error("run_worker: the tally store does not match the simulation");
}

void Worker::run() {
  while (!stop_) {
    drain();
    if (stop_) break;
    if (queue_.empty()) wait();
    else compute_next();
  }
  store_.flush();  // before the goodbye: the node's store is complete once every rank said it
  channel_.send(master_rank_, tag_of(Tag::stop), {});
  channel_.flush();
}

void Worker::compute_next() {
  Batch b = std::move(queue_.front());
  queue_.pop_front();
  current_ = b.id;
  cancel_current_ = false;
  StagedLog log = take_log();
  BatchResult r = runner_.run(
      b, task_log_, [&](const TallyLog& task) { store_.stage(task, log); },
      [&] {
        drain();
        return stop_ || cancel_current_;
      });
  current_ = 0;
  if (stop_) return;
  if (r.cancelled || cancel_current_) {
    recycle(std::move(log));
    return send_cancelled(b.id);
  }
  if (!log.empty()) pending_.emplace(b.id, std::move(log));
  else recycle(std::move(log));
  channel_.send(master_rank_, tag_of(Tag::result), encode(r));
}

StagedLog Worker::take_log() {
  if (spare_logs_.empty()) return {};
  StagedLog log = std::move(spare_logs_.back());
  spare_logs_.pop_back();
  return log;
}

void Worker::recycle(StagedLog&& log) {
  constexpr std::size_t kSpareLogs = 2;  // the master holds about two batches per worker
  if (spare_logs_.size() >= kSpareLogs) return;
  log.clear();
  spare_logs_.push_back(std::move(log));
}

void Worker::wait() {
  if (auto msg = channel_.receive(backoff_)) {
    handle(*msg);
    backoff_ = kMinWait;
  } else {
    backoff_ = std::min(backoff_ * 2, kMaxWait);
  }
}

void Worker::drain() {
  while (auto msg = channel_.try_receive()) handle(*msg);
}

void Worker::handle(const Message& msg) {
  switch (static_cast<Tag>(msg.tag)) {
    case Tag::assign: return on_assign(msg);
    case Tag::cancel: return on_cancel(msg);
    case Tag::snapshot: return on_snapshot(msg);
    case Tag::collect: return on_collect();
    case Tag::resume: return on_resume();
    case Tag::stop: return on_stop(msg);
    default: break;
  }
  throw SystemError("worker: unexpected message tag " + std::to_string(msg.tag));
}

void Worker::on_assign(const Message& msg) {
  auto a = decode_assign(msg.payload);
  apply_acks(a.acks);
  for (auto& b : a.batches) queue_.push_back(std::move(b));
}

void Worker::on_cancel(const Message& msg) {
  const auto id = decode_id(msg.payload);
  if (id == current_) {
    cancel_current_ = true;  // the runner's should_stop sees it before the next task
    return;
  }
  auto it = std::find_if(queue_.begin(), queue_.end(), [&](const Batch& b) { return b.id == id; });
  if (it == queue_.end()) return;  // already computed: its result is on its way
  queue_.erase(it);
  send_cancelled(id);
}

// Private store: answer with the tallies. Shared store: pause applying accepted acks and say
// whether this worker collects for the node; the master sends `collect` once all sharers paused.
void Worker::on_snapshot(const Message& msg) {
  apply_acks(decode_assign(msg.payload).acks);
  if (!store_.shared()) {
    channel_.send(master_rank_, tag_of(Tag::snapshot), encode_tallies(store_.contents()));
    return;
  }
  store_.flush();
  paused_ = true;
  channel_.send(master_rank_, tag_of(Tag::paused),
                {std::byte{store_.collector() ? std::uint8_t{1} : std::uint8_t{0}}});
}

void Worker::on_collect() {
  channel_.send(master_rank_, tag_of(Tag::collect), encode_tallies(store_.contents()));
}

void Worker::on_resume() {
  paused_ = false;
  for (std::uint64_t id : held_) {
    auto it = pending_.find(id);
    store_.apply(it->second);
    recycle(std::move(it->second));
    pending_.erase(it);
  }
  held_.clear();
}

void Worker::on_stop(const Message& msg) {
  on_resume();  // the master ends any snapshot before it stops; this is belt and braces
  apply_acks(decode_assign(msg.payload).acks);
  stop_ = true;
}

void Worker::apply_acks(const std::vector<Ack>& acks) {
  for (const auto& a : acks) {
    auto it = pending_.find(a.batch_id);
    if (it == pending_.end()) continue;  // a result without tallies
    if (a.accepted && paused_) {
      held_.push_back(a.batch_id);
      continue;
    }
    if (a.accepted) store_.apply(it->second);
    recycle(std::move(it->second));
    pending_.erase(it);
  }
}

void Worker::send_cancelled(std::uint64_t id) {
  BatchResult r;
  r.batch_id = id;
  r.cancelled = true;
  channel_.send(master_rank_, tag_of(Tag::result), encode(r));
}

}  // namespace carlo::sched
