// `carlo run`: wires the layers. Every rank parses the same options, maps the node's shared data
// and builds the simulation; rank 0 runs the master (plus a worker thread) and writes the results
// file, the other ranks run workers. Errors before the run starts are agreed on by all ranks so
// exactly one line is printed and every rank exits 1.
#include "cli/cli.h"
#include "cli/progress.h"
#include "cli/run_args.h"
#include "engine/node_tallies.h"
#include "engine/persistence.h"
#include "engine/shared_data.h"
#include "io/results_file.h"
#include "sched/local_channel.h"
#include "sched/run_loop.h"
#include "sims/builtin.h"
#include "transport/runtime.h"

#include <carlo/error.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

namespace carlo::cli {
using namespace engine;  // TEMP
namespace {

/// Set by SIGTERM, SIGINT or SIGUSR1. A signal handler can only reach a global; rank 0's master
/// polls it (the other ranks ignore it and wait for the master's stop).
std::atomic<bool> g_interrupted{false};

// A run whose first tasks all fail is broken (a bad simulation or data): stop instead of
// retrying every task of a long job (docs/running.md).
constexpr std::uint64_t kAbortAfterFailures = 100;
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_stop_signal(int) { g_interrupted.store(true); }

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGTERM, SIGINT, SIGUSR1}) sigaction(sig, &sa, nullptr);
}

/// An error every rank knows about (so rank 0 alone reports it and all exit cleanly).
class AgreedError : public InputError {
 public:
  using InputError::InputError;
};

/// Runs `f` on every rank (collective): if it throws on any rank, every rank throws AgreedError
/// with the message of the lowest failing rank.
/// Observation and tally names become dataset names in the results file: refuse what cannot be
/// one (a plugin's mistake) with a line naming the simulation, before any file is touched.
void check_output_names(const std::string& sim, const std::vector<std::string>& names,
                        const std::vector<TallySpec>& specs) {
  std::set<std::string> seen;
  auto check = [&](const std::string& kind, const std::string& name) {
    if (name.empty() || name == "." || name.find('/') != std::string::npos)
      throw InputError("simulation '" + sim + "': " + kind + " name '" + name +
                       "' cannot name a dataset (empty, '.' or containing '/')");
    if (!seen.insert(kind + "/" + name).second)
      throw InputError("simulation '" + sim + "' declares " + kind + " '" + name + "' twice");
  };
  for (const auto& n : names) check("observation", n);
  for (const auto& t : specs) check("tally", t.name);
}

template <class F>
void agreed(const transport::Runtime& rt, F&& f) {
  std::string message;
  try {
    f();
  } catch (const AgreedError&) {
    throw;
  } catch (const InputError& e) {
    message = e.what();
  } catch (const std::exception& e) {
    message = std::string("internal error: ") + e.what();
  }
  message = rt.first_error(message);
  if (!message.empty()) throw AgreedError(message);
}

std::string iso_utc(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/// Accepted results go straight to the results file, observation-major per piece.
class FileSink final : public sched::ResultSink {
 public:
  FileSink(io::ResultsWriter& writer, std::size_t n_obs) : writer_(writer), n_obs_(n_obs) {}
  void store(const sched::Master::Outcome::Piece& p, const sched::BatchResult& r) override {
    const auto count = static_cast<std::size_t>(p.count);
    buffer_.resize(n_obs_ * count);
    for (std::size_t k = 0; k < n_obs_; ++k) {
      const double* src = r.observations.data() + k * r.n_tasks + p.offset;
      std::copy(src, src + count, buffer_.begin() + static_cast<std::ptrdiff_t>(k * count));
    }
    writer_.write_observations(p.first, p.count, buffer_);
  }

 private:
  io::ResultsWriter& writer_;
  std::size_t n_obs_;
  std::vector<double> buffer_;
};

ProgressState progress_of(const sched::Master& m, double seconds) {
  ProgressState s;
  s.done = m.tasks_done();
  s.failed = m.tasks_failed();
  s.total = m.end_task() - m.first_task();
  s.retries = m.retries();
  s.seconds = seconds;
  return s;
}

std::string format_estimate(const io::Summary& s) {
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "%.10g +- %.3g (stderr; sd %.4g, 95%% of tasks in [%.6g, %.6g], n=%llu)", s.mean,
                s.stderr_, s.sd, s.p2_5, s.p97_5, static_cast<unsigned long long>(s.count));
  return buf;
}

int run(transport::Runtime& rt, const Args& args) {
  const bool root = rt.world_rank() == 0;
  Registry registry;
  sims::register_builtin(registry);
  PluginSet plugins;
  ParsedRun parsed;
  agreed(rt, [&] { parsed = parse_run_args(args, registry, plugins); });
  if (!parsed.config) {
    if (root) std::fputs(parsed.help.c_str(), stdout);
    return 0;
  }
  const RunConfig& c = *parsed.config;
  const SimulationInfo& info = *registry.find(c.sim);
  const auto started = std::chrono::system_clock::now();
  const auto t0 = std::chrono::steady_clock::now();

  RunPersistence::Start start = RunPersistence::Start::fresh;
  agreed(rt, [&] {
    if (root) start = RunPersistence::decide(c);
  });
  std::vector<std::byte> start_bytes{static_cast<std::byte>(start)};
  rt.broadcast(start_bytes);
  start = static_cast<RunPersistence::Start>(start_bytes.at(0));
  if (start == RunPersistence::Start::already_complete) {
    if (root && !c.quiet)
      std::fprintf(stderr, "carlo: %s is already complete; nothing to resume\n", c.output.c_str());
    return 0;
  }
  SharedRagged data;
  RaggedView view;
  if (!c.data.empty()) {
    agreed(rt, [&] { data = load_shared_ragged(rt, c.data, c.group, c.share); });  // collective
    view = data.view();
  }
  std::unique_ptr<Simulation> sim;
  std::vector<std::string> names;
  std::vector<TallySpec> specs;
  std::optional<sched::StderrTarget> target;
  agreed(rt, [&] {
    sim = info.create(c.sim_options, view);
    if (!sim) throw InputError("simulation '" + c.sim + "': create returned no simulation");
    names = sim->observation_names();
    specs = sim->tally_specs();
    check_output_names(c.sim, names, specs);
    if (c.target) {
      auto it = std::find(names.begin(), names.end(), c.target->observation);
      if (it == names.end()) {
        std::string have;
        for (const auto& n : names) have += (have.empty() ? "" : ", ") + n;
        throw InputError("--target-stderr: simulation '" + c.sim + "' has no observation '" +
                         c.target->observation + "' (it has: " + have + ")");
      }
      target = sched::StderrTarget{static_cast<std::size_t>(it - names.begin()), c.target->value,
                                   c.target->relative};
    }
  });
  // Provenance of the data, for the results file and for refusing to resume on other data.
  io::RunMeta meta;
  if (!c.data.empty()) {
    meta.data_path = std::filesystem::absolute(c.data).string();
    std::error_code ec;
    meta.data_size = std::filesystem::file_size(c.data, ec);
    const auto mt = std::filesystem::last_write_time(c.data, ec);
    meta.data_mtime = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::file_clock::to_sys(mt).time_since_epoch())
                          .count();
    meta.data_checksum =
        "size+mtime:" + std::to_string(meta.data_size) + ":" + std::to_string(meta.data_mtime);
  }
  std::optional<io::ResultsWriter> writer;
  std::optional<RunPersistence> persist;
  agreed(rt, [&] {
    if (!root) return;
    persist.emplace(c, run_fingerprint(c, meta.data_checksum), names.size(), specs);
    if (start == RunPersistence::Start::resume) persist->check_resumable();  // before overwriting
    writer.emplace(c.output, names, specs, c.tasks, /*overwrite=*/true);
  });

  // Rank 0 builds the master and, when resuming, restores it; a refusal (the run differs from
  // the checkpoint) reaches every rank before any work starts.
  std::optional<sched::Master> master;
  std::string resumed;
  std::uint64_t resolved_before = 0;  // restored by --resume: not this run's throughput
  agreed(rt, [&] {
    if (!root) return;
    sched::MasterConfig mc;
    mc.first = c.first_task;
    mc.end = c.end_task;
    mc.workers = rt.world_size();
    mc.fixed_batch = c.batch;
    mc.max_retries = c.max_retries;
    mc.task_timeout = c.task_timeout;
    mc.target = target;
    mc.check_every = c.check_every;
    mc.abort_after_failures = kAbortAfterFailures;
    master.emplace(mc);
    if (start == RunPersistence::Start::resume) resumed = persist->resume(*master, *writer);
    else persist->start_fresh();
    resolved_before = master->tasks_done() + master->tasks_failed();
  });
  if (!resumed.empty() && !c.quiet) std::fprintf(stderr, "carlo: %s\n", resumed.c_str());
  bool interrupted = false;
  Progress progress(c.quiet || !root, c.progress_every);

  auto channel = rt.make_channel();
  sched::TaskRunner runner(*sim, c.seed);
  std::optional<NodeTallies> node_tallies;
  agreed(rt, [&] { node_tallies.emplace(rt, specs); });  // collective
  if (root) {
    sched::LocalHub hub(2);
    auto master_side = hub.endpoint(0);
    auto worker_side = hub.endpoint(1);
    std::exception_ptr worker_error;
    std::thread worker([&] {
      try {
        sched::run_worker(*worker_side, 0, runner, node_tallies->store());
      } catch (...) {
        worker_error = std::current_exception();
      }
    });
    FileSink sink(*writer, names.size());
    sched::MasterHooks hooks;
    persist->install(hooks, *master);
    hooks.interrupt = &g_interrupted;
    hooks.progress = [&](const sched::Master& m, double s, bool final) {
      if (!final) progress.update(progress_of(m, s));
    };
    try {
      interrupted = sched::run_master(*master, *channel, *master_side, sink, hooks);
    } catch (...) {
      worker.detach();  // the job is going down (abort); never join a worker that may wait forever
      throw;
    }
    worker.join();
    if (worker_error) std::rethrow_exception(worker_error);
  } else {
    sched::run_worker(*channel, 0, runner, node_tallies->store());
  }
  auto tallies = node_tallies->reduce(rt);  // exact integer sums: order-free
  node_tallies.reset();
  channel.reset();

  int code = 0;
  if (root) {
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // With a stderr target the file keeps the prefix [0, final_end); otherwise all --tasks (a
    // --task-range part leaves the tasks outside its range pending).
    const std::uint64_t kept = c.target && !interrupted ? master->final_end() : c.tasks;
    // Interrupted with a stderr target: only results below the decided horizon are final.
    const std::uint64_t done_below =
        interrupted ? std::min<std::uint64_t>(master->horizon(), c.tasks) : c.tasks;
    persist->add_base_tallies(tallies);
    // Interrupted, or stopped because every task failed: not all tasks resolved, and what was
    // done can be resumed.
    const bool partial = interrupted || master->aborted();
    if (partial) persist->final_checkpoint(*master, tallies);
    meta.simulation = c.sim;
    meta.seed = c.seed;
    meta.tasks = kept;
    meta.ranks = rt.world_size();
    meta.nodes = rt.node_count();
    meta.start_time = iso_utc(started);
    meta.end_time = iso_utc(std::chrono::system_clock::now());
    meta.wall_seconds = wall;
    const std::uint64_t resolved = master->tasks_done() + master->tasks_failed() - resolved_before;
    meta.tasks_per_second = wall > 0 ? static_cast<double>(resolved) / wall : 0;
    meta.metrics = {{"compute_seconds", master->compute_seconds()},
                    {"retries", static_cast<double>(master->retries())},
                    {"reissued_batches", static_cast<double>(master->reissued_batches())},
                    {"batches", static_cast<double>(master->timeline().size())},
                    {"checkpoints", static_cast<double>(persist->checkpoints())},
                    {"checkpoint_seconds", persist->checkpoint_seconds()}};
    meta.options = c.provenance;
    meta.options.emplace_back("ranks", std::to_string(rt.world_size()));
    if (c.target) {
      meta.options.emplace_back("tasks-kept", std::to_string(kept));
      meta.options.emplace_back("target-met", master->target_met() ? "true" : "false");
    }

    const auto& failed = master->failures();
    const auto& retried = master->retried();
    std::uint64_t done_in_file = 0;
    auto status = [&](std::uint64_t first, std::uint64_t count, io::TaskState* st,
                      std::uint8_t* attempts) {
      for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t t = first + i;
        if (auto f = failed.find(t); f != failed.end()) {
          st[i] = io::TaskState::failed;
          attempts[i] = static_cast<std::uint8_t>(f->second.attempts);
        } else if (t >= c.first_task && t < kept && t < done_below && master->is_resolved(t)) {
          st[i] = io::TaskState::done;
          ++done_in_file;
          auto r = retried.find(t);
          attempts[i] = static_cast<std::uint8_t>(r == retried.end() ? 1 : r->second);
        } else {
          st[i] = io::TaskState::pending;
          attempts[i] = 0;
        }
      }
    };
    std::vector<io::Failure> failures;
    for (const auto& [t, f] : failed)
      if (t < kept) failures.push_back({t, f.attempts, f.message});
    if (kept < c.tasks) writer->keep_prefix(kept);
    writer->finish(status, tallies, failures, meta, partial ? "partial" : "complete");
    writer.reset();
    if (!partial) persist->remove_files();
    std::vector<io::TimelineEntry> timeline;
    timeline.reserve(master->timeline().size());
    for (const auto& b : master->timeline())
      timeline.push_back({b.worker, b.tasks, b.start, b.end});
    io::write_timeline(c.output, timeline);

    if (!c.quiet) {
      char line[320];
      const int ranks = rt.world_size(), nodes = rt.node_count();
      std::snprintf(line, sizeof line,
                    "%llu tasks done, %zu failed in %.2f s (%.4g tasks/s on %d rank%s, %d node%s) "
                    "-> %s",
                    static_cast<unsigned long long>(done_in_file), failures.size(), wall,
                    meta.tasks_per_second, ranks, ranks == 1 ? "" : "s", nodes,
                    nodes == 1 ? "" : "s", c.output.c_str());
      std::string closing = line;
      if (interrupted)
        closing = "INTERRUPTED: " + closing +
                  "\ncarlo: checkpoint written; run the same command with --resume to continue";
      if (c.target)
        closing +=
            master->target_met()
                ? "\ncarlo: stderr target met after " + std::to_string(kept) +
                      " tasks (the file keeps those; " +
                      std::to_string(master->tasks_done() -
                                     std::min(done_in_file, master->tasks_done())) +
                      " tasks computed past them were dropped)"
                : "\ncarlo: stderr target NOT met within " + std::to_string(c.tasks) + " tasks";
      const auto results = io::read_results_info(c.output);
      for (std::size_t k = 0; k < results.observation_names.size() && k < results.summaries.size();
           ++k)
        closing += "\ncarlo: " + results.observation_names[k] + " = " +
                   format_estimate(results.summaries[k]);
      for (const auto& f : failures)
        if (&f - failures.data() < 5)
          closing += "\ncarlo: task " + std::to_string(f.task) + " failed after " +
                     std::to_string(f.attempts) + " attempts: " + f.message;
      progress.finish(progress_of(*master, wall), closing);
    }
    if (master->aborted())  // even with --quiet: the run did not do what was asked
      std::fprintf(stderr,
                   "carlo: stopped early: tasks %llu..%llu all failed (their errors are in "
                   "%s:/failures); fix the simulation or the data, then run again with --force\n",
                   static_cast<unsigned long long>(c.first_task),
                   static_cast<unsigned long long>(c.first_task + kAbortAfterFailures - 1),
                   c.output.c_str());
    code = interrupted ? 3 : failures.empty() ? 0 : 2;
  }
  std::vector<std::byte> code_bytes{static_cast<std::byte>(code)};
  rt.broadcast(code_bytes);
  return static_cast<int>(code_bytes.at(0));
}

}  // namespace

/// This process's rank as the launcher tells it (0 when run directly): lets `--help` print once
/// without starting MPI.
int launcher_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"})
    if (const char* v = std::getenv(name); v && *v) return std::atoi(v);
  return 0;
}

/// `carlo run --help` answers without initialising MPI: it must work on a login node, where a
/// singleton MPI start may be slow or not allowed, and costs nothing to parse.
std::optional<int> help_without_mpi(const Args& args) {
  const bool wants_help = std::any_of(
      args.begin(), args.end(), [](const std::string& a) { return a == "--help" || a == "-h"; });
  if (!wants_help) return std::nullopt;
  Registry registry;
  sims::register_builtin(registry);
  PluginSet plugins;
  const bool root = launcher_rank() == 0;
  try {
    const ParsedRun parsed = parse_run_args(args, registry, plugins);
    if (parsed.config) return std::nullopt;  // not a help request after all
    if (root) std::fputs(parsed.help.c_str(), stdout);
    return 0;
  } catch (const std::exception& e) {
    if (root) std::fprintf(stderr, "carlo run: error: %s\n", e.what());
    return 1;
  }
}

int cmd_run(const Args& args, int argc, char** argv) {
  if (auto code = help_without_mpi(args)) return *code;
  transport::Runtime rt(argc, argv);
  install_signal_handlers();
  try {
    return run(rt, args);
  } catch (const AgreedError& e) {
    if (rt.world_rank() == 0) std::fprintf(stderr, "carlo run: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "carlo run: error on rank %d: %s\n", rt.world_rank(), e.what());
    std::fflush(stderr);
    rt.abort(1);
  }
}

}  // namespace carlo::cli
