// carlo gen groups | graph: deterministic synthetic ragged arrays (docs/data-format.md says how
// they are made). Every number comes from counter-based streams keyed by the seed and a row or
// edge id, so the output depends only on the arguments, and both generators stream to disk with
// memory bounded independently of the file size.
#include "cli/cli.h"
#include "io/ragged_file.h"

#include <carlo/error.h>
#include <carlo/rng.h>
#include <carlo/units.h>

#include <boost/program_options.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <numbers>
#include <string>
#include <vector>

namespace carlo::cli {

namespace po = boost::program_options;

namespace {

constexpr const char* kGenUsage =
    "usage:\n"
    "  carlo gen groups --rows R --bytes SIZE [--dtype float64] --seed S -o groups.h5 [--force]\n"
    "  carlo gen graph  --scale K [--edge-factor 16] --seed S -o graph.h5 [--force]\n"
    "\n"
    "Writes a deterministic synthetic ragged array (same arguments, same file contents).\n"
    "  groups: R rows of skewed (log-normal) lengths holding exactly SIZE/dtype-size values;\n"
    "          float rows ~ Normal(row mean, row sd), integer rows uniform over the type.\n"
    "  graph:  R-MAT graph (a=0.57 b=0.19 c=0.19 d=0.05) with 2^K nodes and edge-factor*2^K\n"
    "          directed edges as CSR: row u = sorted int64 ids of u's out-neighbours.\n";

// Prints progress to stderr for big outputs only; small ones stay quiet.
class Progress {
 public:
  Progress(std::string what, std::uint64_t total_bytes)
      : what_(std::move(what)), total_(total_bytes),
        enabled_(total_bytes >= (std::uint64_t{1} << 30)) {}
  void update(std::uint64_t done_bytes) {
    if (!enabled_ || total_ == 0) return;
    const int tenth = static_cast<int>(done_bytes * 10 / total_);
    if (tenth <= last_) return;
    last_ = tenth;
    std::fprintf(stderr, "carlo gen %s: %d%% (%s of %s)\n", what_.c_str(), tenth * 10,
                 format_bytes(done_bytes).c_str(), format_bytes(total_).c_str());
  }

 private:
  std::string what_;
  std::uint64_t total_;
  bool enabled_;
  int last_ = 0;
};

// Standard normal variates by Box-Muller from one stream, both outputs of each pair used.
class Normal {
 public:
  explicit Normal(Stream& s) : s_(s) {}
  double operator()() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = 1.0 - s_.uniform();  // (0, 1]: log is finite
    const double u2 = s_.uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double theta = 2.0 * std::numbers::pi * u2;
    spare_ = r * std::sin(theta);
    has_spare_ = true;
    return r * std::cos(theta);
  }

 private:
  Stream& s_;
  double spare_ = 0;
  bool has_spare_ = false;
};

// Substreams of a row's stream: one for its length weight, one for its values.
constexpr std::uint64_t kWeightStream = 1;
constexpr std::uint64_t kValueStream = 2;
// Spread of the log-normal row weights: the longest rows are hundreds of times the median.
constexpr double kLengthSigma = 1.5;

double row_weight(std::uint64_t seed, std::uint64_t row) {
  Stream s(seed, row, kWeightStream);
  return std::exp(kLengthSigma * Normal(s)());
}

// Fills `out` with the next `n` values of a row. Float rows: mean ~ Normal(0, 10) and
// sd ~ LogNormal(0, 0.5) per row, drawn first from the row's stream; integer rows: every bit
// pattern of the type equally likely.
template <class T>
class RowValues {
 public:
  RowValues(std::uint64_t seed, std::uint64_t row) : s_(seed, row, kValueStream), normal_(s_) {
    if constexpr (std::is_floating_point_v<T>) {
      mean_ = 10.0 * normal_();
      sd_ = std::exp(0.5 * normal_());
    }
  }
  void fill(T* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      if constexpr (std::is_floating_point_v<T>) {
        out[i] = static_cast<T>(mean_ + sd_ * normal_());
      } else if constexpr (sizeof(T) == 8) {
        const std::uint64_t bits = s_.next_u64();
        std::memcpy(&out[i], &bits, sizeof(T));
      } else {
        const std::uint32_t bits = s_.next_u32();
        std::memcpy(&out[i], &bits, sizeof(T));  // low bytes on little-endian
      }
    }
  }

 private:
  Stream s_;
  Normal normal_;
  double mean_ = 0, sd_ = 1;
};

struct GroupsSpec {
  std::uint64_t rows = 0;
  std::uint64_t bytes = 0;
  DType dtype = DType::float64;
  std::uint64_t seed = 0;
  std::string output;
  bool force = false;
};

void generate_groups(const GroupsSpec& spec) {
  const std::uint64_t n_values = spec.bytes / dtype_size(spec.dtype);
  // Row i ends at floor(n_values * W_i / W) with W_i the running sum of the row weights: lengths
  // follow the weights, rows with tiny weights come out empty and the total is exact. Weights are
  // recomputed in the second pass instead of stored, so memory does not grow with the row count.
  double total_weight = 0;
  for (std::uint64_t i = 0; i < spec.rows; ++i) total_weight += row_weight(spec.seed, i);

  io::RaggedWriter::Options opts;
  opts.overwrite = spec.force;
  io::RaggedWriter writer(spec.output, spec.dtype, n_values, opts);
  Progress progress("groups", spec.bytes);
  visit_dtype(spec.dtype, [&](auto zero) {
    using T = decltype(zero);
    constexpr std::size_t kBlock = std::size_t{1} << 20;
    std::vector<T> block;
    double running = 0;
    std::uint64_t start = 0;
    for (std::uint64_t i = 0; i < spec.rows; ++i) {
      running += row_weight(spec.seed, i);
      std::uint64_t end = i + 1 == spec.rows
                              ? n_values
                              : static_cast<std::uint64_t>(std::floor(
                                    static_cast<long double>(n_values) * running / total_weight));
      end = std::clamp(end, start, n_values);
      RowValues<T> gen(spec.seed, i);
      for (std::uint64_t done = start; done < end;) {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kBlock, end - done));
        block.resize(n);
        gen.fill(block.data(), n);
        writer.append_values(block.data(), n);
        done += n;
      }
      writer.end_row();
      progress.update(end * sizeof(T));
      start = end;
    }
  });
  writer.finish();
}

// ---------------------------------------------------------------------------------------------
// R-MAT graph
// ---------------------------------------------------------------------------------------------

struct GraphSpec {
  unsigned scale = 0;
  std::uint64_t edge_factor = 16;
  std::uint64_t seed = 0;
  std::string output;
  bool force = false;
};

// R-MAT quadrant probabilities, drawn per level as a source bit then a destination bit given it.
constexpr double kA = 0.57, kB = 0.19, kC = 0.19, kD = 0.05;
constexpr double kSrcOne = kC + kD;                  // P(source bit = 1)
constexpr double kDstOneIfSrcZero = kB / (kA + kB);  // P(dest bit = 1 | source bit 0)
constexpr double kDstOneIfSrcOne = kD / (kC + kD);   // P(dest bit = 1 | source bit 1)

constexpr std::uint32_t threshold(double p) { return static_cast<std::uint32_t>(p * 4294967296.0); }

// Edge e: its source is drawn first, top bit first, from Stream(seed, e), then its destination.
// A pass looking for sources in [lo, hi) stops drawing as soon as the source's leading bits rule
// the range out, so a pass costs little for the edges it skips.
class EdgeSource {
 public:
  EdgeSource(std::uint64_t seed, unsigned scale) : seed_(seed), scale_(scale) {}

  // True and the edge's endpoints if its source lies in [lo, hi).
  bool edge(std::uint64_t e, std::uint64_t lo, std::uint64_t hi, std::uint64_t& src,
            std::uint64_t& dst) const {
    Stream s(seed_, e);
    std::uint64_t prefix = 0;
    for (unsigned level = 0; level < scale_; ++level) {
      prefix = (prefix << 1) | (s.next_u32() < threshold(kSrcOne) ? 1u : 0u);
      const unsigned rest = scale_ - level - 1;
      const std::uint64_t first = prefix << rest;
      const std::uint64_t last = first + (std::uint64_t{1} << rest);  // exclusive
      if (last <= lo || first >= hi) return false;
    }
    src = prefix;
    dst = 0;
    for (unsigned level = 0; level < scale_; ++level) {
      const bool src_bit = (src >> (scale_ - level - 1)) & 1u;
      const std::uint32_t t = threshold(src_bit ? kDstOneIfSrcOne : kDstOneIfSrcZero);
      dst = (dst << 1) | (s.next_u32() < t ? 1u : 0u);
    }
    return true;
  }

 private:
  std::uint64_t seed_;
  unsigned scale_;
};

// Splits the nodes into consecutive ranges each expected to hold about `budget` edges, from the
// R-MAT source distribution: P(source = v) = (c+d)^popcount(v) * (a+b)^(scale - popcount(v)).
std::vector<std::uint64_t> pass_bounds(unsigned scale, std::uint64_t edges, std::uint64_t budget) {
  const std::uint64_t nodes = std::uint64_t{1} << scale;
  std::vector<std::uint64_t> bounds = {0};
  if (edges <= budget) {
    bounds.push_back(nodes);
    return bounds;
  }
  std::vector<double> p(scale + 1);
  for (unsigned k = 0; k <= scale; ++k)
    p[k] = std::pow(kSrcOne, k) * std::pow(1.0 - kSrcOne, static_cast<double>(scale - k));
  double expected = 0;
  for (std::uint64_t v = 0; v < nodes; ++v) {
    expected += static_cast<double>(edges) * p[static_cast<unsigned>(std::popcount(v))];
    if (expected >= static_cast<double>(budget)) {
      bounds.push_back(v + 1);
      expected = 0;
    }
  }
  if (bounds.back() != nodes) bounds.push_back(nodes);
  return bounds;
}

void generate_graph(const GraphSpec& spec) {
  const std::uint64_t nodes = std::uint64_t{1} << spec.scale;
  const std::uint64_t edges = spec.edge_factor * nodes;
  // Each pass keeps one sorted key (source << scale | destination) per edge of its node range;
  // 16M edges = 128 MiB bounds the memory whatever the scale.
  constexpr std::uint64_t kBudget = std::uint64_t{1} << 24;
  const std::vector<std::uint64_t> bounds = pass_bounds(spec.scale, edges, kBudget);

  io::RaggedWriter::Options opts;
  opts.overwrite = spec.force;
  io::RaggedWriter writer(spec.output, DType::int64, edges, opts);
  Progress progress("graph", edges * sizeof(std::int64_t));
  const EdgeSource source(spec.seed, spec.scale);
  const std::uint64_t dst_mask = nodes - 1;
  std::vector<std::uint64_t> keys;
  // A range's count fluctuates around its expectation; room for 25% more avoids a doubling.
  keys.reserve(std::min(edges, kBudget + kBudget / 4));
  std::vector<std::int64_t> row;
  std::uint64_t written = 0;
  for (std::size_t pass = 0; pass + 1 < bounds.size(); ++pass) {
    const std::uint64_t lo = bounds[pass], hi = bounds[pass + 1];
    keys.clear();
    for (std::uint64_t e = 0; e < edges; ++e) {
      std::uint64_t src, dst;
      if (source.edge(e, lo, hi, src, dst)) keys.push_back((src << spec.scale) | dst);
    }
    std::sort(keys.begin(), keys.end());
    std::size_t k = 0;
    for (std::uint64_t v = lo; v < hi; ++v) {
      row.clear();
      while (k < keys.size() && (keys[k] >> spec.scale) == v)
        row.push_back(static_cast<std::int64_t>(keys[k++] & dst_mask));
      writer.append_row(row.data(), row.size());
    }
    written += keys.size();
    progress.update(written * sizeof(std::int64_t));
  }
  writer.finish();
}

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

po::variables_map parse(const Args& args, const po::options_description& opts,
                        const std::string& kind) {
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(std::vector<std::string>(args.begin() + 2, args.end()))
                  .options(opts)
                  .run(),
              vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw InputError(std::string(e.what()) + " (try carlo gen " + kind + " --help)");
  }
  return vm;
}

std::string required(const po::variables_map& vm, const std::string& name,
                     const std::string& kind) {
  if (!vm.count(name))
    throw InputError("missing --" + name + " (try carlo gen " + kind + " --help)");
  return vm[name].as<std::string>();
}

int gen_groups(const Args& args) {
  po::options_description opts("carlo gen groups options");
  auto add = opts.add_options();
  add("help,h", "describe this command");
  add("rows", po::value<std::string>(), "number of rows R (e.g. 2000, 1e6)");
  add("bytes", po::value<std::string>(), "size of the values (e.g. 2MiB, 4GiB)");
  add("dtype", po::value<std::string>()->default_value("float64"),
      "float64, float32, int64, int32, uint32, int8 or uint8");
  add("seed", po::value<std::string>(), "random seed (unsigned 64-bit)");
  add("output,o", po::value<std::string>(), "output file");
  add("force,f", "overwrite the output if it exists");
  const po::variables_map vm = parse(args, opts, "groups");
  if (vm.count("help")) {
    std::cout << kGenUsage << '\n' << opts;
    return 0;
  }
  GroupsSpec spec;
  spec.rows = parse_count(required(vm, "rows", "groups"), "--rows");
  spec.bytes = parse_size(required(vm, "bytes", "groups"), "--bytes");
  spec.dtype = parse_dtype(vm["dtype"].as<std::string>());
  spec.seed = parse_count(required(vm, "seed", "groups"), "--seed");
  spec.output = required(vm, "output", "groups");
  spec.force = vm.count("force") > 0;
  if (spec.rows == 0) throw InputError("--rows: must be at least 1");
  if (spec.bytes % dtype_size(spec.dtype) != 0)
    throw InputError("--bytes: " + std::to_string(spec.bytes) + " is not a multiple of the " +
                     std::string(dtype_name(spec.dtype)) + " size (" +
                     std::to_string(dtype_size(spec.dtype)) + " bytes)");
  check_output_path(spec.output, spec.force);
  generate_groups(spec);
  return 0;
}

int gen_graph(const Args& args) {
  po::options_description opts("carlo gen graph options");
  auto add = opts.add_options();
  add("help,h", "describe this command");
  add("scale", po::value<std::string>(), "log2 of the number of nodes K (1-32)");
  add("edge-factor", po::value<std::string>()->default_value("16"), "edges per node");
  add("seed", po::value<std::string>(), "random seed (unsigned 64-bit)");
  add("output,o", po::value<std::string>(), "output file");
  add("force,f", "overwrite the output if it exists");
  const po::variables_map vm = parse(args, opts, "graph");
  if (vm.count("help")) {
    std::cout << kGenUsage << '\n' << opts;
    return 0;
  }
  GraphSpec spec;
  const std::uint64_t scale = parse_count(required(vm, "scale", "graph"), "--scale");
  if (scale < 1 || scale > 32)
    throw InputError("--scale: " + std::to_string(scale) + " is out of range (1 to 32)");
  spec.scale = static_cast<unsigned>(scale);
  spec.edge_factor = parse_count(vm["edge-factor"].as<std::string>(), "--edge-factor");
  if (spec.edge_factor == 0 || spec.edge_factor > (std::uint64_t{1} << 24))
    throw InputError("--edge-factor: must be between 1 and 16777216");
  spec.seed = parse_count(required(vm, "seed", "graph"), "--seed");
  spec.output = required(vm, "output", "graph");
  spec.force = vm.count("force") > 0;
  check_output_path(spec.output, spec.force);
  generate_graph(spec);
  return 0;
}

}  // namespace

int cmd_gen(const Args& args) {
  const std::string kind = args.size() > 1 ? args[1] : "";
  if (kind == "groups") return gen_groups(args);
  if (kind == "graph") return gen_graph(args);
  if (kind == "--help" || kind == "-h") {
    std::cout << kGenUsage;
    return 0;
  }
  if (kind.empty())
    throw InputError("what to generate? 'groups' or 'graph' (try carlo gen --help)");
  throw InputError("unknown kind '" + kind + "' (expected groups or graph)");
}

}  // namespace carlo::cli
