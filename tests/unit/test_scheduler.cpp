// The scheduler end to end on threads: the real master loop, worker loops and task runner, with
// LocalHub channels in place of MPI. Every behaviour here is what `carlo run` relies on.

#include "sched/local_channel.h"
#include "sched/run_loop.h"
#include "sims/builtin.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <thread>

namespace carlo::sched {
namespace {

struct RunOutput {
  std::vector<double> value, task;  // observations by task id
  std::vector<int> stores;          // how often each task was stored
  std::vector<std::uint64_t> hits;  // tally summed over workers
  std::map<std::uint64_t, FinalFailure> failures;
  std::map<std::uint64_t, std::uint32_t> retried;
  std::uint64_t final_end = 0;
  bool target_met = false;
  bool aborted = false;
  std::uint64_t reissued = 0;
  // Per checkpoint snapshot: tasks done when it began, and the tally total it returned.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> snapshots;
};

/// How workers keep tallies: each its own (ranks on separate nodes), or two workers per "node"
/// sharing one store, with small tallies cached privately (production) or every add atomic.
enum class Sharing { per_worker, shared_cached, shared_atomic };

class VectorSink final : public ResultSink {
 public:
  explicit VectorSink(RunOutput& out) : out_(out) {}
  void store(const Master::Outcome::Piece& p, const BatchResult& r) override {
    for (std::uint64_t i = 0; i < p.count; ++i) {
      const auto t = static_cast<std::size_t>(p.first + i);
      out_.value[t] = r.observations[p.offset + i];
      out_.task[t] = r.observations[r.n_tasks + p.offset + i];
      ++out_.stores[t];
    }
  }

 private:
  RunOutput& out_;
};

OptionValues fault_options(std::map<std::string, OptionValues::Value> overrides = {}) {
  OptionSet decl;
  sims::faults_info().declare_options(decl);
  OptionValues v;
  for (const auto& d : decl.decls()) {
    switch (d.kind) {
      case OptionSet::Kind::integer:
        v.set(d.name, std::int64_t{std::stoll(d.default_value)});
        break;
      case OptionSet::Kind::real: v.set(d.name, std::stod(d.default_value)); break;
      case OptionSet::Kind::text: v.set(d.name, d.default_value); break;
      case OptionSet::Kind::flag: v.set(d.name, false); break;
    }
  }
  for (auto& [k, x] : overrides) v.set(k, x);
  return v;
}

RunOutput run_faults(int workers, MasterConfig cfg, const OptionValues& opts,
                     std::uint64_t seed = 7, Sharing sharing = Sharing::per_worker,
                     double snapshot_every = 0) {
  cfg.workers = workers;
  RunOutput out;
  const auto T = static_cast<std::size_t>(cfg.end);
  out.value.assign(T, std::nan(""));
  out.task.assign(T, std::nan(""));
  out.stores.assign(T, 0);
  LocalHub remote(workers), local(2);
  auto master_remote = remote.endpoint(0);
  auto master_local = local.endpoint(0);
  // Per worker: its tallies; shared: one 16-bin tally per pair of workers.
  std::vector<std::vector<std::vector<std::uint64_t>>> tallies(static_cast<std::size_t>(workers));
  std::vector<std::vector<std::uint64_t>> node_bins(static_cast<std::size_t>(workers + 1) / 2,
                                                    std::vector<std::uint64_t>(16, 0));
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w, ch = (w == 0 ? local.endpoint(1) : remote.endpoint(w))]() mutable {
      auto sim = sims::faults_info().create(opts, RaggedView{});
      TaskRunner runner(*sim, seed);
      if (sharing == Sharing::per_worker) {
        run_worker(*ch, 0, runner, tallies[static_cast<std::size_t>(w)]);
        return;
      }
      TallyStore store({node_bins[static_cast<std::size_t>(w / 2)]}, /*shared=*/true,
                       /*collector=*/w % 2 == 0,
                       sharing == Sharing::shared_atomic ? 0 : TallyStore::kPrivateCacheBins);
      run_worker(*ch, 0, runner, store);
    });
  }
  Master master(cfg);
  VectorSink sink(out);
  MasterHooks hooks;
  hooks.snapshot_every = snapshot_every;
  hooks.snapshot_begin = [&](const Master& m) { out.snapshots.emplace_back(m.tasks_done(), 0); };
  hooks.snapshot_done = [&](std::vector<std::vector<std::uint64_t>>&& sum) {
    std::uint64_t total = 0;
    for (auto h : sum.at(0)) total += h;
    out.snapshots.back().second = total;
  };
  run_master(master, *master_remote, *master_local, sink, hooks);
  for (auto& t : threads) t.join();
  out.hits.assign(16, 0);
  if (sharing == Sharing::per_worker) {
    for (const auto& tw : tallies)
      for (std::size_t b = 0; b < 16; ++b) out.hits[b] += tw[0][b];
  } else {
    for (const auto& node : node_bins)
      for (std::size_t b = 0; b < 16; ++b) out.hits[b] += node[b];
  }
  out.failures = master.failures();
  out.retried = master.retried();
  out.final_end = master.final_end();
  out.target_met = master.target_met();
  out.aborted = master.aborted();
  out.reissued = master.reissued_batches();
  return out;
}

std::uint64_t total_hits(const RunOutput& out) {
  std::uint64_t total = 0;
  for (auto h : out.hits) total += h;
  return total;
}

MasterConfig tasks(std::uint64_t n) {
  MasterConfig c;
  c.end = n;
  return c;
}

TEST(Scheduler, EveryTaskIsStoredExactlyOnceAtItsIndex) {
  auto out = run_faults(3, tasks(5000), fault_options());
  for (std::size_t t = 0; t < 5000; ++t) {
    ASSERT_EQ(out.stores[t], 1) << "task " << t;
    ASSERT_EQ(out.task[t], static_cast<double>(t));
    ASSERT_EQ(out.value[t], Stream(7, t).uniform());
  }
  EXPECT_EQ(total_hits(out), 5000u);
}

TEST(Scheduler, ResultsDoNotDependOnWorkersOrBatchSize) {
  auto a = run_faults(1, tasks(3000), fault_options());
  auto cfg = tasks(3000);
  cfg.fixed_batch = 7;
  auto b = run_faults(4, cfg, fault_options());
  cfg.fixed_batch = 1;
  auto c = run_faults(2, cfg, fault_options());
  EXPECT_EQ(a.value, b.value);
  EXPECT_EQ(a.value, c.value);
  EXPECT_EQ(a.hits, b.hits);
  EXPECT_EQ(a.hits, c.hits);
}

TEST(Scheduler, PermanentFailuresAreRecordedAfterAllRetriesAndTheirTalliesDropped) {
  auto cfg = tasks(1000);
  cfg.max_retries = 2;
  auto out = run_faults(3, cfg, fault_options({{"fail-tasks", std::string("5,999")}}));
  ASSERT_EQ(out.failures.size(), 2u);
  EXPECT_EQ(out.failures.at(5).attempts, 3u);
  EXPECT_NE(out.failures.at(5).message.find("injected failure of task 5"), std::string::npos);
  EXPECT_TRUE(std::isnan(out.value[5]));
  EXPECT_EQ(out.stores[5], 1);       // stored once, as failed
  EXPECT_EQ(total_hits(out), 998u);  // the failed tasks' tally counts were discarded
  EXPECT_EQ(out.hits[5], 1000u / 16 + (5 < 1000 % 16) - 1);
}

TEST(Scheduler, FlakyTasksSucceedOnRetryWithTheSameStream) {
  auto out = run_faults(2, tasks(500),
                        fault_options({{"flaky-tasks", std::string("3,4,400")},
                                       {"flaky-attempts", std::int64_t{2}}}));
  EXPECT_TRUE(out.failures.empty());
  EXPECT_EQ(out.retried.at(3), 3u);
  EXPECT_EQ(out.value[400], Stream(7, 400).uniform());
  auto clean = run_faults(2, tasks(500), fault_options());
  EXPECT_EQ(out.value, clean.value);
  EXPECT_EQ(out.hits, clean.hits);
}

TEST(Scheduler, RandomFailuresGiveTheSameResultsWhateverTheWorkers) {
  auto opts = fault_options({{"fail-prob", 0.3}});
  auto a = run_faults(1, tasks(2000), opts);
  auto b = run_faults(4, tasks(2000), opts);
  EXPECT_FALSE(a.failures.empty());
  EXPECT_EQ(a.failures.size(), b.failures.size());
  for (std::size_t t = 0; t < 2000; ++t)
    ASSERT_EQ(std::isnan(a.value[t]) ? 0.0 : a.value[t], std::isnan(b.value[t]) ? 0.0 : b.value[t]);
  EXPECT_EQ(a.hits, b.hits);
}

TEST(Scheduler, AStalledBatchIsReissuedAndCountedOnce) {
  auto cfg = tasks(200);
  cfg.fixed_batch = 10;
  cfg.task_timeout = 0.05;
  auto out = run_faults(3, cfg,
                        fault_options({{"stall-tasks", std::string("195")}, {"stall-ms", 1500.0}}));
  EXPECT_GE(out.reissued, 1u);
  for (std::size_t t = 0; t < 200; ++t) ASSERT_EQ(out.stores[t], 1);
  EXPECT_EQ(total_hits(out), 200u);
}

TEST(Scheduler, StderrTargetStopsAtTheSameCheckpointWhateverTheWorkers) {
  auto cfg = tasks(1000000);
  cfg.check_every = 100;
  cfg.target = StderrTarget{0, 0.01, false};  // uniform: sd 0.2887, stderr <= 0.01 at n >= 834
  auto a = run_faults(1, cfg, fault_options());
  auto b = run_faults(4, cfg, fault_options());
  EXPECT_TRUE(a.target_met);
  EXPECT_EQ(a.final_end, b.final_end);
  EXPECT_EQ(a.final_end % 100, 0u);
  EXPECT_GE(a.final_end, 800u);
  EXPECT_LE(a.final_end, 1000u);
  EXPECT_EQ(total_hits(a), a.final_end);  // tallies hold exactly the prefix
  EXPECT_EQ(a.hits, b.hits);
}

// A target over several columns (every component of a vector observation) stops only once all of
// them meet it: faults' second column is the task id, whose stderr only grows.
TEST(Scheduler, StderrTargetOverSeveralColumnsNeedsEveryOne) {
  auto cfg = tasks(3000);
  cfg.check_every = 100;
  cfg.target = StderrTarget{0, 0.01, false, 2};
  auto both = run_faults(2, cfg, fault_options());
  EXPECT_FALSE(both.target_met);
  EXPECT_EQ(both.final_end, 3000u);
  cfg.target = StderrTarget{0, 0.01, false, 1};
  auto first = run_faults(2, cfg, fault_options());
  EXPECT_TRUE(first.target_met);
  EXPECT_LE(first.final_end, 1000u);
}

TEST(Scheduler, WorkersSharingATallyStoreCountEveryAcceptedTaskOnce) {
  auto cfg = tasks(3000);
  cfg.fixed_batch = 7;
  auto opts = fault_options({{"fail-prob", 0.2}});
  const auto alone = run_faults(3, cfg, opts);
  for (Sharing sharing : {Sharing::shared_cached, Sharing::shared_atomic}) {
    const auto shared = run_faults(5, cfg, opts, 7, sharing);
    EXPECT_EQ(shared.hits, alone.hits);
    EXPECT_EQ(shared.failures.size(), alone.failures.size());
  }
}

// A checkpoint's tallies must hold exactly the results accepted before its snapshot began, even
// though workers go on computing (and the master goes on accepting) while it is taken.
TEST(Scheduler, SnapshotsHoldExactlyTheResultsAcceptedBeforeThem) {
  auto cfg = tasks(4000);
  cfg.fixed_batch = 5;
  auto opts = fault_options({{"sleep-ms", 0.2}});
  for (Sharing sharing : {Sharing::per_worker, Sharing::shared_cached, Sharing::shared_atomic}) {
    const auto out = run_faults(5, cfg, opts, 7, sharing, /*snapshot_every=*/0.01);
    ASSERT_GE(out.snapshots.size(), 5u) << "too few snapshots to test anything";
    for (const auto& [done, total] : out.snapshots) ASSERT_EQ(total, done);
    EXPECT_EQ(total_hits(out), 4000u);
  }
}

TEST(Scheduler, ARunWhoseFirstTasksAllFailStopsEarly) {
  auto cfg = tasks(20000);
  cfg.max_retries = 1;
  auto out = run_faults(3, cfg, fault_options({{"fail-prob", 1.0}}));
  EXPECT_TRUE(out.aborted);
  for (std::uint64_t t = 0; t < 100; ++t) ASSERT_TRUE(out.failures.count(t)) << "task " << t;
  EXPECT_LT(out.failures.size(), 20000u);  // the rest was never run
}

TEST(Scheduler, OneSuccessAmongTheFirstTasksLetsTheRunFinish) {
  std::string first99;
  for (int t = 0; t < 99; ++t) first99 += (t ? "," : "") + std::to_string(t);
  auto cfg = tasks(1000);
  cfg.max_retries = 0;
  auto out = run_faults(3, cfg, fault_options({{"fail-tasks", first99}}));
  EXPECT_FALSE(out.aborted);
  EXPECT_EQ(out.failures.size(), 99u);
  EXPECT_EQ(out.stores[999], 1);
}

// --- The worker alone, driven message by message as the master drives it --------------------

/// A Worker on its own thread over a two-rank LocalHub, with a private store; the test plays the
/// master on rank 0.
class DrivenWorker {
 public:
  explicit DrivenWorker(const OptionValues& opts)
      : hub_(2), master_(hub_.endpoint(0)), sim_(sims::faults_info().create(opts, RaggedView{})),
        runner_(*sim_, 7), store_(runner_.tally_specs()) {
    thread_ = std::thread([this, ch = hub_.endpoint(1)] { Worker(*ch, 0, runner_, store_).run(); });
  }
  ~DrivenWorker() {
    if (thread_.joinable()) thread_.join();
  }

  void send(Tag tag, std::vector<std::byte> payload) {
    master_->send(1, static_cast<int>(tag), std::move(payload));
  }
  void assign(std::vector<Batch> batches, std::vector<Ack> acks = {}) {
    send(Tag::assign, encode(AssignMessage{std::move(acks), std::move(batches)}));
  }
  /// The worker's next message, which must carry `tag` (waits up to a minute).
  Message next(Tag tag) {
    for (int i = 0; i < 600; ++i) {
      if (auto msg = master_->receive(std::chrono::milliseconds(100))) {
        EXPECT_EQ(msg->tag, static_cast<int>(tag));
        return std::move(*msg);
      }
    }
    ADD_FAILURE() << "no message from the worker";
    return {};
  }
  /// Sum of the worker's store, as its snapshot answer reports it.
  std::uint64_t snapshot_total() {
    send(Tag::snapshot, encode(AssignMessage{}));
    std::uint64_t total = 0;
    const auto tallies = decode_tallies(next(Tag::snapshot).payload);
    for (auto h : tallies.at(0)) total += h;
    return total;
  }
  /// Stops the worker with final `acks` and waits for its goodbye; returns its store's contents.
  std::vector<std::uint64_t> stop(std::vector<Ack> acks = {}) {
    send(Tag::stop, encode(AssignMessage{std::move(acks), {}}));
    next(Tag::stop);
    thread_.join();
    return store_.contents().at(0);
  }

 private:
  LocalHub hub_;
  std::unique_ptr<Channel> master_;
  std::unique_ptr<Simulation> sim_;
  TaskRunner runner_;
  TallyStore store_;
  std::thread thread_;
};

Batch batch(std::uint64_t id, std::uint64_t first, std::uint64_t count) {
  return Batch{id, {TaskRange{first, count, 0}}};
}

// A result's tallies wait on the worker until the master's ack: accepted ones are added to the
// store, rejected ones (a duplicate that lost) are dropped.
TEST(Worker, AddsTheTalliesOfAResultOnlyOnceTheMasterAcceptsIt) {
  DrivenWorker w(fault_options());
  w.assign({batch(1, 0, 4), batch(2, 4, 4)});
  EXPECT_EQ(decode_result(w.next(Tag::result).payload).batch_id, 1u);
  EXPECT_EQ(decode_result(w.next(Tag::result).payload).batch_id, 2u);
  EXPECT_EQ(w.snapshot_total(), 0u) << "tallies counted before any ack";
  w.assign({}, {Ack{1, true}, Ack{2, false}});
  EXPECT_EQ(w.snapshot_total(), 4u);
  const auto hits = w.stop();
  for (std::size_t b = 0; b < 16; ++b) EXPECT_EQ(hits[b], b < 4 ? 1u : 0u) << "bin " << b;
}

// A batch cancelled while still queued (another worker finished it first) is answered with a
// cancelled result and never computed; the batches around it are.
TEST(Worker, AnswersACancelledQueuedBatchWithoutComputingIt) {
  DrivenWorker w(fault_options({{"sleep-ms", 20.0}}));
  // Batches 1 and 2 keep the worker busy for 400 ms of sleep, so batch 3 is still queued.
  w.assign({batch(1, 0, 10), batch(2, 10, 10), batch(3, 20, 10)});
  w.send(Tag::cancel, encode_id(3));
  // The worker may have started batch 1 before the cancel arrived (a loaded machine): the answer
  // for batch 3 comes before batch 1's result or after it, but always before batch 2's.
  std::map<std::uint64_t, BatchResult> results;
  std::vector<std::uint64_t> order;
  for (int k = 0; k < 3; ++k) {
    auto r = decode_result(w.next(Tag::result).payload);
    order.push_back(r.batch_id);
    results[r.batch_id] = std::move(r);
  }
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(order.back(), 2u) << "batch 3 was computed after batch 2";
  EXPECT_TRUE(results[3].cancelled);
  EXPECT_EQ(results[3].n_tasks, 0u);
  for (std::uint64_t id : {1u, 2u}) {
    EXPECT_FALSE(results[id].cancelled);
    EXPECT_EQ(results[id].n_tasks, 10u);
  }
  const auto hits = w.stop({Ack{1, true}, Ack{2, true}});
  std::uint64_t total = 0;
  for (auto h : hits) total += h;
  EXPECT_EQ(total, 20u);
}

}  // namespace
}  // namespace carlo::sched
