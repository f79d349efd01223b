// `carlo run`: parse the command line into an engine::RunConfig, run it, print the outcome.
// Every rank parses the same options; only rank 0 prints (progress, notes, the closing lines).
#include "engine/run.h"
#include "cli/cli.h"
#include "cli/progress.h"
#include "cli/run_args.h"
#include "engine/agreed.h"
#include "io/results_file.h"
#include "report/format.h"
#include "sims/builtin.h"
#include "transport/runtime.h"

#include <carlo/error.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace carlo::cli {
namespace {

/// Set by SIGTERM, SIGINT or SIGUSR1. A signal handler can only reach a global; rank 0's master
/// polls it (the other ranks ignore it and wait for the master's stop).
std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_stop_signal(int) { g_interrupted.store(true); }

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGTERM, SIGINT, SIGUSR1}) sigaction(sig, &sa, nullptr);
}

/// The closing lines (without --quiet): counts, rate, where the results are; the target's
/// decision; each observation's estimate; the first failures.
std::string closing_lines(const engine::RunConfig& c, const engine::RunOutcome& o) {
  char line[320];
  std::snprintf(
      line, sizeof line,
      "%llu tasks done, %zu failed in %.2f s (%.4g tasks/s on %d rank%s, %d node%s) -> %s",
      static_cast<unsigned long long>(o.done), o.failures.size(), o.wall_seconds,
      o.tasks_per_second, o.ranks, o.ranks == 1 ? "" : "s", o.nodes, o.nodes == 1 ? "" : "s",
      c.output.c_str());
  std::string s = line;
  if (o.interrupted)
    s = "INTERRUPTED: " + s +
        "\ncarlo: checkpoint written; run the same command with --resume to continue";
  if (c.target)
    s += o.target_met
             ? "\ncarlo: stderr target met after " + std::to_string(o.kept) +
                   " tasks (the file keeps those; " + std::to_string(o.dropped) +
                   " tasks computed past them were dropped)"
             : "\ncarlo: stderr target NOT met within " + std::to_string(c.tasks) + " tasks";
  // From the outcome, not the file: reading a file's task status back costs as much as --tasks.
  for (std::size_t k = 0; k < o.observation_names.size() && k < o.summaries.size(); ++k)
    s += "\ncarlo: " + o.observation_names[k] + " = " + report::format_estimate(o.summaries[k]);
  for (std::size_t i = 0; i < o.failures.size() && i < 5; ++i)
    s += "\ncarlo: task " + std::to_string(o.failures[i].task) + " failed after " +
         std::to_string(o.failures[i].attempts) + " attempts: " + o.failures[i].message;
  return s;
}

/// Rank 0's report of a finished (or stopped) run.
void print_outcome(const ParsedRun& parsed, const engine::RunOutcome& o, Progress& progress) {
  const engine::RunConfig& c = *parsed.config;
  if (o.already_complete) {
    if (!parsed.quiet)
      std::fprintf(stderr, "carlo: %s is already complete; nothing to resume\n", c.output.c_str());
    return;
  }
  if (!o.stopped_in.empty()) {  // even with --quiet: nothing ran
    progress.end_bar();
    std::fprintf(stderr,
                 "carlo run: interrupted while %s: no task ran and nothing was written; run the "
                 "same command with --resume to start (or continue) it\n",
                 o.stopped_in.c_str());
    return;
  }
  if (!o.io_error.empty()) {  // even with --quiet: the run stopped short
    progress.end_bar();
    std::fprintf(stderr,
                 "carlo run: error: %s; stopped, the last checkpoint is kept: run the same "
                 "command with --resume once this is fixed\n",
                 o.io_error.c_str());
    return;
  }
  if (!parsed.quiet) progress.finish(o.progress, closing_lines(c, o));
  if (o.aborted)  // even with --quiet: the run did not do what was asked
    std::fprintf(stderr,
                 "carlo: stopped early: tasks %llu..%llu all failed (their errors are in "
                 "%s:/failures); fix the simulation or the data, then run again with --force\n",
                 static_cast<unsigned long long>(c.first_task),
                 static_cast<unsigned long long>(c.first_task + o.abort_after_failures - 1),
                 c.output.c_str());
}

/// CARLO_TIMINGS=1 (docs/running.md): where rank 0's time went, phase by phase, and each
/// worker's tasks and busy seconds; on stderr, for measuring runs (bench/walk_end_to_end.sh).
void print_timings(const engine::RunOutcome& o) {
  const char* on = std::getenv("CARLO_TIMINGS");
  if (on == nullptr || *on == '\0' || std::string_view(on) == "0" || o.phases.empty()) return;
  std::string line = "carlo timings:";
  double total = 0;
  char buf[64];
  for (const auto& [name, seconds] : o.phases) {
    std::snprintf(buf, sizeof buf, " %s=%.3f", name.c_str(), seconds);
    line += buf;
    total += seconds;
  }
  std::snprintf(buf, sizeof buf, " total=%.3f", total);
  std::fprintf(stderr, "%s%s\n", line.c_str(), buf);
  for (const auto& w : o.workers)
    std::fprintf(stderr, "carlo timings: worker=%d tasks=%llu busy=%.3f cpu=%.3f\n", w.worker,
                 static_cast<unsigned long long>(w.tasks), w.busy, w.cpu);
}

int run(transport::Runtime& rt, const Args& args) {
  const bool root = rt.world_rank() == 0;
  Registry registry(run_option_names());
  sims::register_builtin(registry);
  engine::PluginSet plugins;
  ParsedRun parsed;
  engine::agreed(rt, [&] { parsed = parse_run_args(args, registry, plugins); });
  if (!parsed.config) {
    if (root) std::fputs(parsed.help.c_str(), stdout);
    return 0;
  }
  Progress progress(parsed.quiet || !root, parsed.progress_every);
  engine::RunObserver observer;
  observer.interrupt = &g_interrupted;
  observer.progress = [&](const engine::RunProgress& p) { progress.update(p); };
  observer.fatal = [&rt](const std::string& message) {
    std::fprintf(stderr, "carlo run: error on rank %d: %s\n", rt.world_rank(), message.c_str());
    std::fflush(stderr);
    rt.abort(1);
  };
  observer.warning = [](const std::string& w) { std::fprintf(stderr, "carlo: %s\n", w.c_str()); };
  observer.note = [&](const std::string& note) {
    if (!parsed.quiet) std::fprintf(stderr, "carlo: %s\n", note.c_str());
  };
  const engine::RunOutcome outcome = engine::run(rt, *parsed.config, registry, observer);
  if (root) print_outcome(parsed, outcome, progress);
  if (root) print_timings(outcome);
  return outcome.exit_code;
}

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
  Registry registry(run_option_names());
  sims::register_builtin(registry);
  engine::PluginSet plugins;
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

}  // namespace

int cmd_run(const Args& args, int argc, char** argv) {
  if (auto code = help_without_mpi(args)) return *code;
  transport::Runtime rt(argc, argv);
  install_signal_handlers();
  try {
    return run(rt, args);
  } catch (const engine::AgreedError& e) {
    if (rt.world_rank() == 0) std::fprintf(stderr, "carlo run: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "carlo run: error on rank %d: %s\n", rt.world_rank(), e.what());
    std::fflush(stderr);
    rt.abort(1);
  }
}

}  // namespace carlo::cli
