#include "cli/run_args.h"
#include "engine/run_options.h"

#include <carlo/error.h>
#include <carlo/units.h>

#include <boost/program_options.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

namespace po = boost::program_options;

namespace carlo::cli {
using engine::RunConfig;
using engine::TargetSpec;
namespace {

po::options_description run_options() {
  po::options_description d("Run options");
  d.add_options()("help,h", "show this help (with --sim: the simulation's options too)")(
      "sim", po::value<std::string>(), "simulation to run (see the list below)")(
      "data", po::value<std::string>(), "ragged-array HDF5 file the simulation reads")(
      "group", po::value<std::string>()->default_value("/"),
      "HDF5 group holding values and offsets")(
      "tasks", po::value<std::string>(),
      "number of tasks (e.g. 100000, 1e6, 10k); the ceiling with --target-stderr")(
      "seed", po::value<std::string>(), "seed of the counter-based random streams")(
      "task-range", po::value<std::string>(),
      "run only tasks A..B-1 of the --tasks (A:B); parts merge with `carlo merge`")(
      "output,o", po::value<std::string>(), "results file to write")(
      "force", po::bool_switch(), "overwrite an existing results file")(
      "batch", po::value<std::string>()->default_value("auto"),
      "tasks per batch: a number, or auto")(
      "max-retries", po::value<std::string>()->default_value("3"),
      "retries of a failing task before it is recorded as failed")(
      "task-timeout", po::value<double>()->default_value(0),
      "seconds a batch may run past its expected time before an idle rank takes it too (0: off)")(
      "target-stderr", po::value<std::string>(),
      "stop when NAME's standard error is at most X: NAME=X, or NAME=X% of |mean|")(
      "check-every", po::value<std::string>()->default_value("1000"),
      "with --target-stderr: check at multiples of this many tasks")(
      "progress-every", po::value<double>()->default_value(10),
      "seconds between progress lines when not on a terminal")("quiet,q", po::bool_switch(),
                                                               "no progress output")(
      "share", po::value<std::string>()->default_value("window"),
      "how a node shares the data: window (MPI shared memory) or mmap (map the file)")(
      "resume", po::bool_switch(),
      "continue an interrupted run from its checkpoint (starts afresh if there is none; a finished "
      "run is left as is)")(
      "checkpoint-every", po::value<double>()->default_value(60),
      "seconds between checkpoints (also written at once on SIGTERM, SIGINT or SIGUSR1)")(
      "max-crashes", po::value<std::string>()->default_value("2"),
      "a task in flight when the job died in this many runs is quarantined as failed")(
      "plugin", po::value<std::vector<std::string>>()->composing(),
      "shared library with more simulations (repeatable)")(
      "config", po::value<std::string>(),
      "INI file with any of these options (the command line wins)");
  return d;
}

po::options_description sim_options(const SimulationInfo& info) {
  OptionSet decl;
  if (info.declare_options) info.declare_options(decl);
  po::options_description d("Options of simulation '" + info.name + "'");
  for (const auto& o : decl.decls()) {
    switch (o.kind) {
      case OptionSet::Kind::integer:
        d.add_options()(o.name.c_str(),
                        po::value<std::int64_t>()->value_name("INT")->default_value(
                            std::stoll(o.default_value)),
                        o.help.c_str());
        break;
      case OptionSet::Kind::real:
        d.add_options()(o.name.c_str(),
                        po::value<double>()->value_name("REAL")->default_value(
                            std::stod(o.default_value), o.default_value),
                        o.help.c_str());
        break;
      case OptionSet::Kind::text:
        d.add_options()(
            o.name.c_str(),
            po::value<std::string>()->value_name("TEXT")->default_value(o.default_value),
            o.help.c_str());
        break;
      case OptionSet::Kind::flag:
        d.add_options()(o.name.c_str(), po::bool_switch(), o.help.c_str());
        break;
    }
  }
  return d;
}

std::string sim_list(const Registry& registry) {
  std::ostringstream s;
  s << "Simulations:\n";
  for (const auto& name : registry.names()) {
    const auto* info = registry.find(name);
    s << "  " << name << std::string(name.size() < 12 ? 12 - name.size() : 1, ' ') << info->summary
      << "\n";
  }
  return s.str();
}

/// The names on one line, for error messages (which are one line each).
std::string sim_names(const Registry& registry) {
  std::string s;
  for (const auto& name : registry.names()) s += (s.empty() ? "" : ", ") + name;
  return "known: " + s;
}

std::optional<TargetSpec> parse_target(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    throw InputError("--target-stderr: '" + text + "' is not NAME=X or NAME=X%");
  TargetSpec t;
  t.observation = text.substr(0, eq);
  std::string v = text.substr(eq + 1);
  if (v.back() == '%') {
    t.relative = true;
    v.pop_back();
  }
  try {
    std::size_t used = 0;
    t.value = std::stod(v, &used);
    if (used != v.size()) throw std::invalid_argument("junk");
  } catch (const std::exception&) {
    throw InputError("--target-stderr: '" + text + "' has no valid number after '='");
  }
  if (!(t.value > 0) || !std::isfinite(t.value))
    throw InputError("--target-stderr: the target must be positive");
  if (t.relative) t.value /= 100.0;
  t.text = text;
  return t;
}

template <class T>
const T* get(const po::variables_map& vm, const char* name) {
  auto it = vm.find(name);
  if (it == vm.end() || it->second.empty()) return nullptr;
  return &it->second.as<T>();
}

}  // namespace

std::vector<std::string> run_option_names() {
  std::vector<std::string> names;
  const auto declared = run_options();
  for (const auto& o : declared.options()) {
    names.push_back(o->long_name());
    // canonical_display_name(shorthand style) is "-o" for "output,o", the long name otherwise.
    const std::string short_form =
        o->canonical_display_name(po::command_line_style::allow_dash_for_short);
    if (short_form.size() == 2 && short_form[0] == '-') names.push_back(short_form.substr(1));
  }
  return names;
}

namespace {

/// The task range and the seed: which tasks run, with which streams.
void parse_tasks(const po::variables_map& vm, RunConfig& c) {
  auto need = [&](const char* name) -> const std::string& {
    auto* v = get<std::string>(vm, name);
    if (!v) throw InputError(std::string("--") + name + " is required");
    return *v;
  };
  c.tasks = parse_count(need("tasks"), "--tasks");
  if (c.tasks == 0)
    throw InputError("--tasks must be at least 1 (a run of no tasks has no results)");
  if (c.tasks > engine::kMaxTasks)
    throw InputError("--tasks " + std::to_string(c.tasks) + ": at most 2^40 (" +
                     std::to_string(engine::kMaxTasks) +
                     ") tasks; a results file holds every task's status and observations");
  c.seed = parse_count(need("seed"), "--seed");
  c.end_task = c.tasks;
  if (auto* r = get<std::string>(vm, "task-range")) {
    const auto colon = r->find(':');
    if (colon == std::string::npos) throw InputError("--task-range: '" + *r + "' is not A:B");
    c.first_task = parse_count(r->substr(0, colon), "--task-range");
    c.end_task = parse_count(r->substr(colon + 1), "--task-range");
    if (c.first_task >= c.end_task || c.end_task > c.tasks)
      throw InputError("--task-range " + *r + ": needs A < B <= --tasks (" +
                       std::to_string(c.tasks) + ")");
  }
  c.output = need("output");
}

/// The data file against what the simulation needs.
void parse_data(const po::variables_map& vm, const SimulationInfo& info, RunConfig& c) {
  if (auto* d = get<std::string>(vm, "data")) c.data = *d;
  if (info.data == DataNeed::required && c.data.empty())
    throw InputError("simulation '" + c.sim + "' needs --data FILE.h5");
  if (info.data == DataNeed::none && !c.data.empty())
    throw InputError("simulation '" + c.sim + "' takes no data, but --data was given");
  c.group = *get<std::string>(vm, "group");
  c.share = engine::parse_share_mode(*get<std::string>(vm, "share"));
}

/// Batches, retries, stragglers, the stopping target, checkpoints and crashes.
void parse_scheduling(const po::variables_map& vm, RunConfig& c) {
  const auto& batch = *get<std::string>(vm, "batch");
  if (batch != "auto") {
    c.batch = parse_count(batch, "--batch");
    if (c.batch == 0) throw InputError("--batch must be at least 1 (or auto)");
  }
  const auto retries = parse_count(*get<std::string>(vm, "max-retries"), "--max-retries");
  if (retries > 254) throw InputError("--max-retries must be at most 254");
  c.max_retries = static_cast<std::uint32_t>(retries);
  c.task_timeout = vm["task-timeout"].as<double>();
  if (!(c.task_timeout >= 0)) throw InputError("--task-timeout must be non-negative");
  if (auto* t = get<std::string>(vm, "target-stderr")) c.target = parse_target(*t);
  c.check_every = parse_count(*get<std::string>(vm, "check-every"), "--check-every");
  if (c.check_every == 0) throw InputError("--check-every must be at least 1");
  if (c.target && (c.first_task != 0 || c.end_task != c.tasks))
    throw InputError(
        "--target-stderr and --task-range cannot be combined (the stopping point depends on all "
        "tasks)");
  c.resume = vm["resume"].as<bool>();
  c.force = vm["force"].as<bool>();
  c.checkpoint_every = vm["checkpoint-every"].as<double>();
  if (!(c.checkpoint_every > 0)) throw InputError("--checkpoint-every must be positive");
  const auto crashes = parse_count(*get<std::string>(vm, "max-crashes"), "--max-crashes");
  if (crashes < 1 || crashes > 255) throw InputError("--max-crashes must be between 1 and 255");
  c.max_crashes = static_cast<std::uint32_t>(crashes);
}

/// Simulation options, typed as declared.
void parse_sim_options(const po::variables_map& vm, const SimulationInfo& info, RunConfig& c) {
  OptionSet decl;
  if (info.declare_options) info.declare_options(decl);
  for (const auto& o : decl.decls()) {
    switch (o.kind) {
      case OptionSet::Kind::integer:
        c.sim_options.set(o.name, vm[o.name].as<std::int64_t>());
        break;
      case OptionSet::Kind::real: c.sim_options.set(o.name, vm[o.name].as<double>()); break;
      case OptionSet::Kind::text: c.sim_options.set(o.name, vm[o.name].as<std::string>()); break;
      case OptionSet::Kind::flag: c.sim_options.set(o.name, vm[o.name].as<bool>()); break;
    }
  }
}

/// Boost's error messages substitute their placeholders until none is left, so a name or value
/// holding one (`--samples-per-task %value%`) makes the message loop forever (Boost 1.74; found by
/// tests/fuzz/fuzz_run_args). Refused before Boost sees it.
void refuse_boost_placeholders(const std::string& text, const std::string& where) {
  for (const char* token :
       {"%canonical_option%", "%value%", "%prefix%", "%invalid_line%", "%valual_option%"})
    if (text.find(token) != std::string::npos)
      throw InputError(where + ": '" + token + "' is not allowed in options or their values");
}

/// Pass 1 of the parse: --config, --plugin, --sim and --help, ignoring simulation options, whose
/// names are known only once the plugins are loaded.
struct FirstPass {
  po::variables_map line, config;  ///< from the command line, from the config file
  std::string config_file;
  std::vector<std::string> plugins;
  const SimulationInfo* info = nullptr;
};

FirstPass first_pass(const std::vector<std::string>& rest, const po::options_description& general,
                     Registry& registry, engine::PluginSet& plugins) {
  FirstPass f;
  po::store(po::command_line_parser(rest).options(general).allow_unregistered().run(), f.line);
  if (auto* c = get<std::string>(f.line, "config")) f.config_file = *c;
  if (!f.config_file.empty()) {
    std::ifstream in(f.config_file);
    if (!in) throw InputError(f.config_file + ": cannot read config file");
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    refuse_boost_placeholders(text, f.config_file);
    std::istringstream config(text);
    po::store(po::parse_config_file(config, general, true), f.config);
  }
  for (const auto* vm : {&f.line, &f.config})
    if (auto* p = get<std::vector<std::string>>(*vm, "plugin"))
      f.plugins.insert(f.plugins.end(), p->begin(), p->end());
  for (const auto& p : f.plugins) plugins.load(p, registry);
  std::string sim_name;
  if (auto* s = get<std::string>(f.line, "sim")) sim_name = *s;
  else if (auto* s2 = get<std::string>(f.config, "sim")) sim_name = *s2;
  if (sim_name.empty()) return f;
  f.info = registry.find(sim_name);
  if (!f.info)
    throw InputError("unknown simulation '" + sim_name + "' (" + sim_names(registry) +
                     (f.plugins.empty() ? "; a plugin's simulations need --plugin lib.so" : "") +
                     ")");
  return f;
}

std::string help_text(const po::options_description& general, const SimulationInfo* info,
                      const Registry& registry) {
  std::ostringstream h;
  h << "usage: carlo run --sim NAME [--data FILE.h5] --tasks T --seed S -o results.h5 "
       "[options]\n\n";
  if (info) h << info->name << ": " << info->summary << "\n\n" << sim_options(*info) << "\n";
  h << general << "\n" << sim_list(registry);
  return h.str();
}

/// Pass 2: everything, strictly; the command line first so it wins over the config file.
po::variables_map second_pass(const std::vector<std::string>& rest,
                              const po::options_description& all, const std::string& config_file) {
  po::variables_map vm;
  const auto parsed_line = po::command_line_parser(rest).options(all).run();
  // Boost keeps bare words aside silently: `--flag false` would run with the flag set.
  const auto stray = po::collect_unrecognized(parsed_line.options, po::include_positional);
  if (!stray.empty())
    throw InputError("unexpected argument '" + stray.front() +
                     "' (give option values as --name VALUE or --name=VALUE; flags take no "
                     "value)");
  po::store(parsed_line, vm);
  if (!config_file.empty()) {
    std::ifstream in(config_file);
    po::store(po::parse_config_file(in, all, false), vm);
  }
  po::notify(vm);
  return vm;
}

ParsedRun parse(const Args& args, Registry& registry, engine::PluginSet& plugins) {
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  for (const auto& a : rest) refuse_boost_placeholders(a, "argument '" + a + "'");
  const auto general = run_options();
  ParsedRun parsed;
  const FirstPass first = first_pass(rest, general, registry, plugins);
  if (first.line.count("help")) {
    parsed.help = help_text(general, first.info, registry);
    return parsed;
  }
  po::options_description all;
  all.add(general);
  if (first.info) all.add(sim_options(*first.info));
  const po::variables_map vm = second_pass(rest, all, first.config_file);
  if (!first.info) throw InputError("--sim is required (" + sim_names(registry) + ")");
  RunConfig c;
  c.sim = first.info->name;
  parse_tasks(vm, c);
  parse_data(vm, *first.info, c);
  parse_scheduling(vm, c);
  parse_sim_options(vm, *first.info, c);
  c.provenance = engine::recorded_options(c, plugins);
  parsed.progress_every = vm["progress-every"].as<double>();
  if (!(parsed.progress_every > 0)) throw InputError("--progress-every must be positive");
  parsed.quiet = vm["quiet"].as<bool>();
  parsed.config = std::move(c);
  return parsed;
}

}  // namespace

ParsedRun parse_run_args(const Args& args, Registry& registry, engine::PluginSet& plugins) {
  try {
    return parse(args, registry, plugins);
  } catch (const po::invalid_option_value& e) {
    // Boost says only "is invalid"; the type is in --help (INT, REAL, TEXT).
    throw InputError(std::string(e.what()) + " (see --help for the value it takes)");
  } catch (const po::error& e) {
    throw InputError(e.what());
  }
}

}  // namespace carlo::cli
