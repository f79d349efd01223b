#include "cli/cli.h"

#include <carlo/error.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>

namespace carlo::cli {

namespace {

constexpr const char* kUsage =
    "carlo " CARLO_VERSION
    " - MPI Monte Carlo runner over node-shared ragged arrays\n"
    "\n"
    "usage:\n"
    "  carlo gen groups --rows R --bytes SIZE [--dtype float64] --seed S -o groups.h5\n"
    "  carlo gen graph  --scale K [--edge-factor 16] --seed S -o graph.h5\n"
    "  carlo info FILE.h5\n"
    "  carlo import IN.h5:/dataset -o OUT.h5\n"
    "  carlo run --sim NAME [--data FILE.h5] --tasks T --seed S -o results.h5 [options]\n"
    "  carlo report results.h5 [--json] [--plot report.svg]\n"
    "  carlo merge PART.h5... -o ALL.h5 [--force]\n"
    "\n"
    "`carlo COMMAND --help` describes a command; `carlo run --sim NAME --help` a simulation.\n";

}  // namespace

void check_output_path(const std::string& path, bool force) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !force)
    throw InputError(path + ": output exists (use --force to overwrite)");
}

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 1 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::puts("carlo " CARLO_VERSION);
    return 0;
  }
  const std::string command = argv[1];
  Args args(argv + 1, argv + argc);
  try {
    if (command == "gen") return cmd_gen(args);
    if (command == "info") return cmd_info(args);
    if (command == "import") return cmd_import(args);
    if (command == "run") return cmd_run(args, argc, argv);
    if (command == "report") return cmd_report(args);
    if (command == "merge") return cmd_merge(args);
    throw InputError("unknown command '" + command + "' (try carlo --help)");
  } catch (const InputError& e) {
    std::fprintf(stderr, "carlo %s: error: %s\n", command.c_str(), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "carlo %s: internal error: %s\n", command.c_str(), e.what());
    return 1;
  }
}

}  // namespace carlo::cli
