// The run as a list of steps (RunEngine::execute). Every rank builds the same simulation over
// the node's shared data; rank 0 runs the master (plus a worker thread) and writes the results
// file, the other ranks run workers. Errors before the first task are agreed by all ranks.
#include "engine/run.h"

#include "core/observations.h"
#include "core/row_share.h"
#include "engine/agreed.h"
#include "engine/node_tallies.h"
#include "engine/output_lock.h"
#include "engine/persistence.h"
#include "sched/local_channel.h"
#include "sched/run_loop.h"

#include <carlo/error.h>

#include <algorithm>
#include <chrono>
#include <ctime>  // clock_gettime
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <thread>

namespace carlo::engine {
namespace {

/// When the library was loaded, just before main(): the timings' "start" phase runs from here.
const std::chrono::steady_clock::time_point g_process_start = std::chrono::steady_clock::now();

// A run whose first tasks all fail is broken (a bad simulation or data): stop instead of
// retrying every task of a long job (docs/running.md).
constexpr std::uint64_t kAbortAfterFailures = 100;

using Tallies = std::vector<std::vector<std::uint64_t>>;
using TallyViews = std::vector<std::span<std::uint64_t>>;

/// Observation and tally names become dataset names in the results file: refuse what cannot be
/// one (a plugin's mistake) with a line naming the simulation, before any file is touched.
void check_output_names(const std::string& sim, const std::vector<ObservationSpec>& observations,
                        const std::vector<TallySpec>& specs) {
  std::set<std::string> seen;
  auto check = [&](const std::string& kind, const std::string& name) {
    if (name.empty() || name == "." || name.find('/') != std::string::npos)
      throw InputError("simulation '" + sim + "': " + kind + " name '" + name +
                       "' cannot name a dataset (empty, '.' or containing '/')");
    // NAME[i] labels component i of a vector observation (--target-stderr, reports).
    if (kind == "observation" && name.find_first_of("[]") != std::string::npos)
      throw InputError("simulation '" + sim + "': observation name '" + name +
                       "' contains '[' or ']', which label a vector's components (NAME[i])");
    if (!seen.insert(kind + "/" + name).second)
      throw InputError("simulation '" + sim + "' declares " + kind + " '" + name + "' twice");
  };
  for (const auto& o : observations) check("observation", o.name);
  for (const auto& t : specs) check("tally", t.name);
}

/// The stopping rule of --target-stderr, checked against the simulation's observations: NAME
/// (a scalar, or every component of a vector) or NAME[i] (component i of a vector).
std::optional<sched::StderrTarget> stderr_target(const RunConfig& c,
                                                 const std::vector<ObservationSpec>& specs) {
  if (!c.target) return std::nullopt;
  const auto columns = observation_columns(specs);
  const std::string& want = c.target->observation;
  auto it = std::find(columns.begin(), columns.end(), want);
  if (it != columns.end())
    return sched::StderrTarget{static_cast<std::size_t>(it - columns.begin()), c.target->value,
                               c.target->relative, 1};
  std::size_t first = 0;
  for (const auto& s : specs) {
    if (s.name == want)
      return sched::StderrTarget{first, c.target->value, c.target->relative,
                                 static_cast<std::size_t>(s.width())};
    first += static_cast<std::size_t>(s.width());
  }
  std::string have;
  for (const auto& n : columns) have += (have.empty() ? "" : ", ") + n;
  throw InputError("--target-stderr: simulation '" + c.sim + "' has no observation '" + want +
                   "' (it has: " + have + ")");
}

/// The data file's provenance: for the results file and for refusing to resume on other data.
void describe_data(const std::string& path, io::RunMeta& meta) {
  if (path.empty()) return;
  meta.data_path = std::filesystem::absolute(path).string();
  std::error_code ec;
  meta.data_size = std::filesystem::file_size(path, ec);
  const auto mt = std::filesystem::last_write_time(path, ec);
  meta.data_mtime = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::file_clock::to_sys(mt).time_since_epoch())
                        .count();
  meta.data_checksum =
      "size+mtime:" + std::to_string(meta.data_size) + ":" + std::to_string(meta.data_mtime);
}

std::string iso_utc(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/// The first failed write of the surroundings (results file, journal, checkpoint) stops the run:
/// it is remembered with the file it concerns, the master is told to stop (as by a signal), and
/// every later write is skipped, so the journal and the last checkpoint stay as they were.
class IoGuard {
 public:
  explicit IoGuard(std::atomic<bool>& stop) : stop_(stop) {}
  template <class F>
  void run(const std::string& file, F&& write) {
    if (!error_.empty()) return;
    try {
      write();
    } catch (const std::exception& e) {
      error_ = describe(file, e.what());
      stop_.store(true);
    }
  }
  const std::string& error() const noexcept { return error_; }

 private:
  /// "FILE: CAUSE": HDF5's own text of a failed write holds the OS error among many fields
  /// ("..., error message = 'No space left on device', ..."); that is the cause a user needs.
  static std::string describe(const std::string& file, const std::string& what) {
    const std::string key = "error message = '";
    const auto at = what.find(key);
    if (at == std::string::npos) return what.rfind(file, 0) == 0 ? what : file + ": " + what;
    const auto start = at + key.size();
    const std::string cause = what.substr(start, what.find('\'', start) - start);
    return file + ": " + cause + " (" + what.substr(0, what.find(':', what.find(':') + 1)) + ")";
  }

  std::atomic<bool>& stop_;
  std::string error_;
};

/// Accepted results go straight to the results file, observation-major per piece.
class FileSink final : public sched::ResultSink {
 public:
  FileSink(io::ResultsWriter& writer, std::size_t n_obs, IoGuard& guard)
      : writer_(writer), n_obs_(n_obs), guard_(guard) {}
  void store(const sched::Master::Outcome::Piece& p, const sched::BatchResult& r) override {
    guard_.run(writer_.path(), [&] { write(p, r); });
  }

 private:
  void write(const sched::Master::Outcome::Piece& p, const sched::BatchResult& r) {
    const auto count = static_cast<std::size_t>(p.count);
    buffer_.resize(n_obs_ * count);
    for (std::size_t k = 0; k < n_obs_; ++k) {
      const double* src = r.observations.data() + k * r.n_tasks + p.offset;
      std::copy(src, src + count, buffer_.begin() + static_cast<std::ptrdiff_t>(k * count));
    }
    writer_.write_observations(p.first, p.count, buffer_);
  }

  io::ResultsWriter& writer_;
  std::size_t n_obs_;
  IoGuard& guard_;
  std::vector<double> buffer_;
};

RunProgress progress_of(const sched::Master& m, double seconds) {
  RunProgress s;
  s.done = m.tasks_done();
  s.failed = m.tasks_failed();
  s.total = m.end_task() - m.first_task();
  s.retries = m.retries();
  s.seconds = seconds;
  return s;
}

/// CPU time of the calling thread since construction.
class CpuClock {
 public:
  CpuClock() noexcept : start_(now()) {}
  double seconds() const noexcept { return now() - start_; }

 private:
  static double now() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  }
  double start_;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

class RunEngine {
 public:
  RunEngine(transport::Runtime& rt, const RunConfig& c, const Registry& registry,
            const RunObserver& observer)
      : rt_(rt), c_(c), info_(*registry.find(c.sim)), observer_(observer),
        root_(rt.world_rank() == 0), guard_(*observer.interrupt) {}

  RunOutcome execute() {
    phase("start");
    if (decide_start() == RunPersistence::Start::already_complete) {
      RunOutcome out;
      out.already_complete = true;
      return out;
    }
    phase("decide");
    load_data();
    phase("load");
    if (stop_requested("loading the data")) return stopped_before_start();
    build_simulation();
    phase("build");
    if (stop_requested("building the simulation")) return stopped_before_start();
    open_results();
    phase("open");
    build_master();
    phase("master");
    run_loops();
    gather_worker_cpu();
    // Exact sums (counts, limbs): order-free. On rank 0, views of the node's bins.
    const TallyViews tallies = node_tallies_->reduce(rt_);
    phase("reduce");
    channel_.reset();
    RunOutcome out;
    if (root_) out = finish_or_report(tallies);
    node_tallies_.reset();  // after finishing: `tallies` are its bins
    phase("finish");
    if (root_) report_times(out);
    std::vector<std::byte> code{static_cast<std::byte>(out.exit_code)};
    rt_.broadcast(code);
    out.exit_code = static_cast<int>(code.at(0));
    return out;
  }

 private:
  /// Ends the phase `name` of the timings (RunOutcome::phases) now.
  void phase(const char* name) {
    const auto now = std::chrono::steady_clock::now();
    phases_.emplace_back(name, std::chrono::duration<double>(now - phase_start_).count());
    phase_start_ = now;
  }

  /// Collective: every worker's CPU seconds (its thread's), on rank 0, in microseconds.
  void gather_worker_cpu() {
    std::vector<std::uint64_t> micros(static_cast<std::size_t>(rt_.world_size()), 0);
    micros[static_cast<std::size_t>(rt_.world_rank())] =
        static_cast<std::uint64_t>(worker_cpu_ * 1e6);
    rt_.reduce_sum(micros);
    if (root_) worker_cpus_ = std::move(micros);
  }

  /// The phases, and per worker (every rank, also one that got no batch) its tasks, the time it
  /// held a batch (the union of its batches' intervals) and its CPU seconds.
  void report_times(RunOutcome& out) const {
    out.phases = phases_;
    out.workers.resize(worker_cpus_.size());
    for (std::size_t w = 0; w < out.workers.size(); ++w)
      out.workers[w] = {static_cast<int>(w), 0, 0, static_cast<double>(worker_cpus_[w]) / 1e6};
    std::vector<sched::BatchRecord> batches = master_->timeline();
    std::sort(batches.begin(), batches.end(), [](const auto& a, const auto& b) {
      return a.worker != b.worker ? a.worker < b.worker : a.start < b.start;
    });
    double covered_to = 0;
    for (std::size_t i = 0; i < batches.size(); ++i) {
      const auto& b = batches[i];
      if (b.worker < 0 || static_cast<std::size_t>(b.worker) >= out.workers.size()) continue;
      if (i == 0 || batches[i - 1].worker != b.worker) covered_to = b.start;
      auto& w = out.workers[static_cast<std::size_t>(b.worker)];
      w.tasks += b.tasks;
      w.busy += std::max(0.0, b.end - std::max(b.start, covered_to));
      covered_to = std::max(covered_to, b.end);
    }
  }

  /// Rank 0 decides: a fresh start, a resume, or nothing to do; every rank learns it.
  /// Rank 0 first takes the output set's lock, before anything of it is read or written.
  RunPersistence::Start decide_start() {
    agreed(rt_, [&] {
      if (!root_) return;
      lock_.emplace(c_.output);
      start_ = RunPersistence::decide(c_);
    });
    std::vector<std::byte> bytes{static_cast<std::byte>(start_)};
    rt_.broadcast(bytes);
    start_ = static_cast<RunPersistence::Start>(bytes.at(0));
    return start_;
  }

  /// The node's one read-only copy of the data (collective).
  void load_data() {
    if (c_.data.empty()) return;
    agreed(rt_, [&] {
      data_ = load_shared_ragged(rt_, c_.data, c_.group, c_.share, observer_.interrupt);
    });
    view_ = data_.view();
  }

  /// Collective: did a stop signal reach any rank by the end of `step`? A long step (a multi-GB
  /// load, a slow simulation setup) must not delay a stop (Slurm's grace period is short), and
  /// before the first task there is nothing to checkpoint: the run ends here, writing nothing.
  bool stop_requested(const char* step) {
    const bool mine = observer_.interrupt->load();
    if (rt_.first_error(mine ? step : "").empty()) return false;
    stopped_in_ = step;
    return true;
  }

  RunOutcome stopped_before_start() const {
    RunOutcome out;
    out.interrupted = true;
    out.stopped_in = stopped_in_;
    out.exit_code = 3;
    return out;
  }

  /// Every rank builds the simulation; it validates the data here, and a refusal is agreed.
  void build_simulation() {
    check_data();
    agreed(rt_, [&] {
      sim_ = info_.create(c_.sim_options, view_);
      if (!sim_) throw InputError("simulation '" + c_.sim + "': create returned no simulation");
      obs_specs_ = sim_->observation_specs();
      width_ = observation_width(obs_specs_);
      specs_ = sim_->tally_specs();
      check_output_names(c_.sim, obs_specs_, specs_);
      target_ = stderr_target(c_, obs_specs_);
    });
  }

  /// The simulation's data check, if it has one (SimulationInfo::check_data): each rank of a node
  /// checks its share of the rows, so the node reads its copy once. Agreed apart from `create`,
  /// which then runs only on data every share passed. Every node splits the rows the same way and
  /// its ranks check the shares in world-rank order, so the lowest failing rank, whose message
  /// every rank throws, is one that checked the first bad share: the error does not depend on the
  /// ranks' layout.
  void check_data() {
    if (!info_.check_data || view_.empty()) return;
    agreed(rt_, [&] {
      const RowRange rows =
          row_share(view_.offsets, view_.rows, static_cast<std::uint64_t>(rt_.node_rank()),
                    static_cast<std::uint64_t>(rt_.node_size()));
      if (!rows.empty()) info_.check_data(c_.sim_options, view_, rows);
    });
  }

  /// Rank 0: the journal and checkpoint (refusing a checkpoint of another run before anything is
  /// overwritten), then the results file.
  void open_results() {
    describe_data(c_.data, meta_);
    agreed(rt_, [&] {
      if (!root_) return;
      persist_.emplace(c_, run_fingerprint(c_, meta_.data_checksum), width_, specs_);
      if (start_ == RunPersistence::Start::resume) persist_->check_resumable();
      writer_.emplace(c_.output, obs_specs_, specs_, c_.tasks, /*overwrite=*/true);
    });
  }

  /// Rank 0: the scheduling policy, restored from the journal when resuming.
  void build_master() {
    std::string resumed;
    agreed(rt_, [&] {
      if (!root_) return;
      sched::MasterConfig mc;
      mc.first = c_.first_task;
      mc.end = c_.end_task;
      mc.workers = rt_.world_size();
      mc.fixed_batch = c_.batch;
      mc.max_retries = c_.max_retries;
      mc.task_timeout = c_.task_timeout;
      mc.target = target_;
      mc.check_every = c_.check_every;
      mc.abort_after_failures = kAbortAfterFailures;
      master_.emplace(mc);
      if (start_ == RunPersistence::Start::resume) resumed = persist_->resume(*master_, *writer_);
      else persist_->start_fresh();
      resolved_before_ = master_->tasks_done() + master_->tasks_failed();
    });
    if (root_ && !persist_->fallback().empty() && observer_.warning)
      observer_.warning(persist_->fallback());
    if (!resumed.empty() && observer_.note) observer_.note(resumed);
  }

  /// The message loops: rank 0 runs the master and a worker thread, the others a worker each.
  void run_loops() {
    channel_ = rt_.make_channel();
    runner_.emplace(*sim_, c_.seed);
    agreed(rt_, [&] { node_tallies_.emplace(rt_, specs_); });  // collective
    phase("tallies");
    try {
      if (root_) {
        run_master_and_worker();
      } else {
        const CpuClock cpu;
        sched::run_worker(*channel_, 0, *runner_, node_tallies_->store());
        worker_cpu_ = cpu.seconds();
      }
      phase("tasks");
    } catch (const std::exception& e) {
      // Never unwind past here: the shared segments' destructors are collective, and the other
      // ranks wait for this one. The caller ends the job.
      if (!observer_.fatal) throw;
      observer_.fatal(e.what());
    }
  }

  void run_master_and_worker() {
    sched::LocalHub hub(2);
    auto master_side = hub.endpoint(0);
    auto worker_side = hub.endpoint(1);
    std::exception_ptr worker_error;
    std::thread worker([&] {
      try {
        const CpuClock cpu;
        sched::run_worker(*worker_side, 0, *runner_, node_tallies_->store());
        worker_cpu_ = cpu.seconds();
      } catch (...) {
        worker_error = std::current_exception();
      }
    });
    try {
      interrupted_ = run_master(*master_side);
    } catch (...) {
      worker.detach();  // the job is going down (abort); never join a worker that may wait forever
      throw;
    }
    worker.join();
    if (worker_error) std::rethrow_exception(worker_error);
  }

  /// The journal and checkpoint hooks, each write under the guard.
  void guard_hooks(sched::MasterHooks& h) {
    const std::string journal = persist_->journal_path(), ckpt = persist_->checkpoint_path();
    h.assigned = [this, f = std::move(h.assigned), journal](int w, const sched::Batch& b) {
      guard_.run(journal, [&] { f(w, b); });
    };
    h.released = [this, f = std::move(h.released), journal](int w, std::uint64_t id) {
      guard_.run(journal, [&] { f(w, id); });
    };
    h.accepted = [this, f = std::move(h.accepted), journal](int w, const sched::BatchResult& r,
                                                            const sched::Master::Outcome& o) {
      guard_.run(journal, [&] { f(w, r, o); });
    };
    h.snapshot_done = [this, f = std::move(h.snapshot_done), ckpt](Tallies&& sum) {
      guard_.run(ckpt, [&] { f(std::move(sum)); });
    };
  }

  bool run_master(sched::Channel& local) {
    FileSink sink(*writer_, width_, guard_);
    sched::MasterHooks hooks;
    persist_->install(hooks, *master_);
    guard_hooks(hooks);
    hooks.interrupt = observer_.interrupt;
    hooks.progress = [&](const sched::Master& m, double s, bool final) {
      if (!final && observer_.progress) observer_.progress(progress_of(m, s));
    };
    return sched::run_master(*master_, *channel_, local, sink, hooks);
  }

  /// Rank 0: finishes the files, unless the surroundings failed before or while doing so; then
  /// nothing more is written, and the outcome says which file failed how (exit 4).
  RunOutcome finish_or_report(const TallyViews& tallies) {
    if (guard_.error().empty()) {
      try {
        return finish(tallies);
      } catch (const std::exception& e) {
        guard_.run(c_.output, [&] { throw; });
      }
    }
    RunOutcome out;
    out.io_error = guard_.error();
    out.exit_code = 4;
    out.wall_seconds = seconds_since(t0_);
    out.ranks = rt_.world_size();
    out.nodes = rt_.node_count();
    out.progress = progress_of(*master_, out.wall_seconds);
    return out;
  }

  /// Rank 0: the results file's metadata, task states and failures; the journal and checkpoint
  /// go (or, when the run stopped short, a final checkpoint is written).
  /// `tallies`: the job's totals where reduce() left them (the node's bins), written from there.
  RunOutcome finish(const TallyViews& tallies) {
    RunOutcome out;
    out.wall_seconds = seconds_since(t0_);
    out.interrupted = interrupted_;
    out.aborted = master_->aborted();
    out.abort_after_failures = kAbortAfterFailures;
    // With a stderr target the file keeps the prefix [0, final_end); otherwise all --tasks (a
    // --task-range part leaves the tasks outside its range pending).
    out.kept = c_.target && !interrupted_ ? master_->final_end() : c_.tasks;
    persist_->add_base_tallies(tallies);
    // Interrupted, or stopped because every task failed: what was done can be resumed.
    const bool partial = interrupted_ || out.aborted;
    if (partial) persist_->final_checkpoint(*master_, tallies);
    fill_meta(out);
    for (const auto& [t, f] : master_->failures())
      if (t < out.kept) out.failures.push_back({t, f.attempts, f.message});
    if (out.kept < c_.tasks) writer_->keep_prefix(out.kept);
    std::uint64_t extent = master_->resolved_end();
    if (!master_->failures().empty())
      extent = std::max(extent, master_->failures().rbegin()->first + 1);
    writer_->set_resolved_extent(extent);
    writer_->finish_views(task_states(out),
                          io::ResultsWriter::TallyViews(tallies.begin(), tallies.end()),
                          out.failures, meta_, partial ? "partial" : "complete");
    out.observation_names = observation_columns(obs_specs_);
    out.summaries = writer_->summaries();
    writer_.reset();
    if (!partial) persist_->remove_files();
    write_timeline();
    out.target_met = master_->target_met();
    out.dropped = master_->tasks_done() - std::min(out.done, master_->tasks_done());
    out.progress = progress_of(*master_, out.wall_seconds);
    out.exit_code = interrupted_ ? 3 : out.failures.empty() ? 0 : 2;
    return out;
  }

  void fill_meta(RunOutcome& out) {
    out.ranks = rt_.world_size();
    out.nodes = rt_.node_count();
    const std::uint64_t resolved =
        master_->tasks_done() + master_->tasks_failed() - resolved_before_;
    out.tasks_per_second =
        out.wall_seconds > 0 ? static_cast<double>(resolved) / out.wall_seconds : 0;
    meta_.simulation = c_.sim;
    meta_.seed = c_.seed;
    meta_.tasks = out.kept;
    meta_.ranks = out.ranks;
    meta_.nodes = out.nodes;
    meta_.start_time = iso_utc(started_);
    meta_.end_time = iso_utc(std::chrono::system_clock::now());
    meta_.wall_seconds = out.wall_seconds;
    meta_.tasks_per_second = out.tasks_per_second;
    meta_.metrics = {{"compute_seconds", master_->compute_seconds()},
                     {"retries", static_cast<double>(master_->retries())},
                     {"reissued_batches", static_cast<double>(master_->reissued_batches())},
                     {"batches", static_cast<double>(master_->timeline().size())},
                     {"checkpoints", static_cast<double>(persist_->checkpoints())},
                     {"checkpoint_seconds", persist_->checkpoint_seconds()}};
    meta_.options = c_.provenance;
    meta_.options.emplace_back("ranks", std::to_string(out.ranks));
    if (c_.target) {
      meta_.options.emplace_back("tasks-kept", std::to_string(out.kept));
      meta_.options.emplace_back("target-met", master_->target_met() ? "true" : "false");
    }
  }

  /// The callback that fills /tasks/status and /tasks/attempts; counts the done tasks in `out`.
  io::ResultsWriter::StatusSource task_states(RunOutcome& out) {
    // Interrupted with a stderr target: only results below the decided horizon are final.
    const std::uint64_t done_below =
        interrupted_ ? std::min<std::uint64_t>(master_->horizon(), c_.tasks) : c_.tasks;
    return [this, &out, done_below](std::uint64_t first, std::uint64_t count, io::TaskState* st,
                                    std::uint8_t* attempts) {
      const auto& failed = master_->failures();
      const auto& retried = master_->retried();
      for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t t = first + i;
        if (auto f = failed.find(t); f != failed.end()) {
          st[i] = io::TaskState::failed;
          attempts[i] = static_cast<std::uint8_t>(f->second.attempts);
        } else if (t >= c_.first_task && t < out.kept && t < done_below &&
                   master_->is_resolved(t)) {
          st[i] = io::TaskState::done;
          ++out.done;
          auto r = retried.find(t);
          attempts[i] = static_cast<std::uint8_t>(r == retried.end() ? 1 : r->second);
        } else {
          st[i] = io::TaskState::pending;
          attempts[i] = 0;
        }
      }
    };
  }

  void write_timeline() {
    std::vector<io::TimelineEntry> timeline;
    timeline.reserve(master_->timeline().size());
    for (const auto& b : master_->timeline())
      timeline.push_back({b.worker, b.tasks, b.start, b.end});
    io::write_timeline(c_.output, timeline);
  }

  transport::Runtime& rt_;
  const RunConfig& c_;
  const SimulationInfo& info_;
  const RunObserver& observer_;
  const bool root_;
  const std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();
  const std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point phase_start_ = g_process_start;
  std::vector<std::pair<std::string, double>> phases_{};  ///< CARLO_TIMINGS: name, seconds
  double worker_cpu_ = 0;                   ///< this rank's worker: CPU seconds of its loop
  std::vector<std::uint64_t> worker_cpus_;  ///< rank 0: every worker's, in microseconds
  std::optional<OutputLock> lock_;          ///< rank 0: this run owns the output set
  RunPersistence::Start start_ = RunPersistence::Start::fresh;
  // Declared in the order they are built; destroyed in reverse (the simulation before the data
  // it views; the data, a collective free of the node's window, last).
  SharedRagged data_;
  RaggedView view_;
  std::unique_ptr<Simulation> sim_;
  std::vector<ObservationSpec> obs_specs_;
  std::size_t width_ = 0;  ///< observation columns per task
  std::vector<TallySpec> specs_;
  std::optional<sched::StderrTarget> target_;
  io::RunMeta meta_;
  std::optional<RunPersistence> persist_;    ///< rank 0
  std::optional<io::ResultsWriter> writer_;  ///< rank 0
  std::optional<sched::Master> master_;      ///< rank 0
  std::uint64_t resolved_before_ = 0;        ///< restored by --resume: not this run's work
  std::unique_ptr<sched::Channel> channel_;
  std::optional<sched::TaskRunner> runner_;
  std::optional<NodeTallies> node_tallies_;
  bool interrupted_ = false;
  std::string stopped_in_;  ///< the step a stop signal ended before the first task
  IoGuard guard_;           ///< rank 0: the first failed write of the surroundings
};

}  // namespace

RunOutcome run(transport::Runtime& rt, const RunConfig& c, const Registry& registry,
               const RunObserver& observer) {
  return RunEngine(rt, c, registry, observer).execute();
}

}  // namespace carlo::engine
