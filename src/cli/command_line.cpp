#include "cli/command_line.h"

#include <carlo/error.h>

#include <iostream>

namespace po = boost::program_options;

namespace carlo::cli {

bool parse_subcommand(const Args& args, const std::string& usage,
                      const po::options_description& visible, const po::options_description& hidden,
                      const char* positional, int max_count, po::variables_map& vm) {
  po::options_description all;
  all.add(visible).add(hidden);
  po::positional_options_description pos;
  pos.add(positional, max_count);
  try {
    po::store(po::command_line_parser(std::vector<std::string>(args.begin() + 1, args.end()))
                  .options(all)
                  .positional(pos)
                  .run(),
              vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw InputError(std::string(e.what()) + " (try carlo " + args.at(0) + " --help)");
  }
  if (vm.count("help")) {
    std::cout << usage << '\n' << visible;
    return false;
  }
  return true;
}

}  // namespace carlo::cli
