#pragma once
/// \file
/// The command-line parsing every subcommand with positional arguments shares.
#include "cli/cli.h"

#include <boost/program_options.hpp>

#include <string>

namespace carlo::cli {

/// Parses `args` (args[0] is the subcommand's name) with the `visible` options plus `hidden` ones,
/// `positional` naming the hidden option that takes the bare arguments (`max_count` of them, -1
/// for any number). Bad usage becomes an InputError ending in "(try carlo NAME --help)". Returns
/// false, after printing `usage` and the visible options, when --help was given.
bool parse_subcommand(const Args& args, const std::string& usage,
                      const boost::program_options::options_description& visible,
                      const boost::program_options::options_description& hidden,
                      const char* positional, int max_count,
                      boost::program_options::variables_map& vm);

}  // namespace carlo::cli
