#pragma once
/// \file
/// Subcommands of the `carlo` executable. Each takes the arguments after its name (argv[0] is the
/// subcommand name) and returns the process exit status (DESIGN §2). They throw InputError for bad
/// usage or input; `main` prints it as one line and returns 1.
#include <string>
#include <vector>

namespace carlo::cli {

using Args = std::vector<std::string>;

int main(int argc, char** argv);

int cmd_gen(const Args& args);
int cmd_info(const Args& args);
int cmd_import(const Args& args);
int cmd_run(const Args& args, int argc, char** argv);
/// `carlo report RESULTS.h5 [--json] [--plot FILE.svg]`: text, JSON or SVG summary of a run.
int cmd_report(const Args& args);
/// `carlo merge PART.h5... -o ALL.h5 [--force]`: combine the parts of a --task-range split run.
int cmd_merge(const Args& args);
/// Refuses an existing output path unless `force` (exit 1 via InputError).
void check_output_path(const std::string& path, bool force);

}  // namespace carlo::cli
