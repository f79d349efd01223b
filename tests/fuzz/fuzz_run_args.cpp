/// \file
/// Fuzzes `carlo run --config FILE`: the INI run-config parser (cli/run_args.h; the only test
/// source the layers check lets include a cli/ header). Contract: parse_run_args either throws
/// InputError or returns a RunConfig that holds what it promises (engine/run_config.h): a
/// registered simulation, a task range inside 0..2^40 tasks, an output path and scheduling
/// values inside their documented bounds.
///
/// Inputs naming `plugin` are skipped: a config file may load any shared library (that is its
/// job), and the fuzzer must not dlopen whatever it finds on the disk.
#include "cli/run_args.h"
#include "fuzz_util.h"
#include "sims/builtin.h"

#include <cmath>
#include <string_view>

namespace {

using carlo::fuzz::finding;

void check(const carlo::engine::RunConfig& c, const carlo::Registry& registry) {
  if (!registry.find(c.sim)) finding("run_args: config names an unregistered simulation");
  if (c.tasks > carlo::engine::kMaxTasks) finding("run_args: more than 2^40 tasks accepted");
  if (c.tasks == 0) finding("run_args: --tasks 0 accepted");
  if (c.first_task >= c.end_task || c.end_task > c.tasks)
    finding("run_args: task range outside 0 <= A < B <= tasks accepted");
  if (c.output.empty()) finding("run_args: empty output path accepted");
  if (c.check_every == 0) finding("run_args: check-every 0 accepted");
  if (c.max_retries > 254) finding("run_args: max-retries above 254 accepted");
  if (c.max_crashes < 1 || c.max_crashes > 255) finding("run_args: max-crashes out of 1..255");
  if (!(c.task_timeout >= 0)) finding("run_args: negative or NaN task-timeout accepted");
  if (!(c.checkpoint_every > 0)) finding("run_args: non-positive checkpoint-every accepted");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (text.find("plugin") != std::string_view::npos) return 0;
  const std::string& path = carlo::fuzz::scratch_path(".ini");
  carlo::fuzz::write_file(path, data, size);
  carlo::fuzz::expect_input_error_or_success("parse_run_args", [&] {
    carlo::Registry registry(carlo::cli::run_option_names());
    carlo::sims::register_builtin(registry);
    carlo::engine::PluginSet plugins;
    const auto parsed = carlo::cli::parse_run_args({"run", "--config", path}, registry, plugins);
    if (!parsed.config) finding("run_args: no config and no --help on the command line");
    check(*parsed.config, registry);
    if (!(parsed.progress_every > 0)) finding("run_args: non-positive progress-every accepted");
  });
  return 0;
}
