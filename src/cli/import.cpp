// carlo import IN.h5:/dataset -o OUT.h5: a variable-length dataset to the ragged layout.
#include "io/import.h"
#include "cli/cli.h"
#include "cli/command_line.h"

#include <carlo/error.h>
#include <carlo/units.h>

#include <boost/program_options.hpp>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace carlo::cli {

namespace po = boost::program_options;

namespace {

constexpr const char* kImportUsage =
    "usage: carlo import IN.h5:/dataset -o OUT.h5 [--group G] [--chunk N --gzip L] [--force]\n"
    "\n"
    "Converts a 1-D HDF5 variable-length dataset (h5py vlen_dtype of float64, float32, int64,\n"
    "int32, uint32, int8 or uint8) into carlo's ragged layout: row i of OUT is element i of the\n"
    "dataset. Values are stored contiguously (memory-mappable) unless --chunk is given.\n";

// "data/in.h5:/a/b" -> ("data/in.h5", "/a/b"); the last ":/" separates, so paths with ':' work.
std::pair<std::string, std::string> split_source(const std::string& source) {
  const std::size_t sep = source.rfind(":/");
  if (sep == std::string::npos || sep == 0)
    throw InputError("'" + source + "': expected IN.h5:/dataset (file, colon, dataset path)");
  return {source.substr(0, sep), source.substr(sep + 1)};
}

}  // namespace

int cmd_import(const Args& args) {
  po::options_description opts("options");
  std::string source, output, group = "/", chunk_text = "0";
  int gzip = 0;
  auto add = opts.add_options();
  add("help,h", "describe this command");
  add("output,o", po::value(&output), "output ragged-array file");
  add("group,g", po::value(&group)->default_value("/"), "group of the output to write into");
  add("chunk", po::value(&chunk_text)->default_value("0"),
      "chunk length of values in elements (0: contiguous, memory-mappable)");
  add("gzip", po::value(&gzip)->default_value(0), "gzip level 1-9 for chunked values");
  add("force,f", "overwrite OUT.h5 if it exists");
  po::options_description hidden;
  hidden.add_options()("source", po::value(&source));
  po::variables_map vm;
  if (!parse_subcommand(args, kImportUsage, opts, hidden, "source", 1, vm)) return 0;
  if (source.empty())
    throw InputError("no input given (usage: carlo import IN.h5:/dataset -o OUT.h5)");
  if (output.empty()) throw InputError("no output given (-o OUT.h5)");
  const auto [in_path, dataset] = split_source(source);
  io::ImportOptions io_opts;
  io_opts.writer.group = group;
  io_opts.writer.chunk_values = parse_count(chunk_text, "--chunk");
  if (gzip < 0 || gzip > 9)
    throw InputError("--gzip: " + std::to_string(gzip) + " is not a level 0-9");
  if (gzip > 0 && io_opts.writer.chunk_values == 0)
    throw InputError("--gzip needs --chunk (compressed values cannot be contiguous)");
  io_opts.writer.gzip_level = gzip;
  if (output == in_path) throw InputError(output + ": output would overwrite the input");
  const bool force = vm.count("force") > 0;
  check_output_path(output, force);
  io_opts.writer.overwrite = force;

  const io::RaggedInfo info = io::import_vlen(in_path, dataset, output, io_opts);
  std::printf("%s:%s -> %s (%llu rows, %llu %s values)\n", in_path.c_str(), dataset.c_str(),
              output.c_str(), static_cast<unsigned long long>(info.rows),
              static_cast<unsigned long long>(info.n_values),
              std::string(dtype_name(info.dtype)).c_str());
  return 0;
}

}  // namespace carlo::cli
