// carlo gen graph: an R-MAT graph written as CSR, sorted in passes over node ranges.
#include "datagen/datagen.h"
#include "io/ragged_file.h"

#include <carlo/rng.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace carlo::datagen {

namespace {

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

void check(const GraphConfig& config) {
  if (config.scale < 1 || config.scale > 32)
    throw std::invalid_argument("datagen::generate_graph: scale is outside 1 to 32");
  if (config.edge_factor == 0 || config.edge_factor > (std::uint64_t{1} << 24))
    throw std::invalid_argument("datagen::generate_graph: edge_factor is outside 1 to 2^24");
}

}  // namespace

void generate_graph(const GraphConfig& config, const std::string& output,
                    const Progress& progress) {
  check(config);
  const unsigned scale = config.scale;
  const std::uint64_t nodes = std::uint64_t{1} << scale;
  const std::uint64_t edges = config.edge_factor * nodes;
  const std::uint64_t total_bytes = edges * sizeof(std::int64_t);
  // Each pass keeps one sorted key (source << scale | destination) per edge of its node range;
  // 16M edges = 128 MiB bounds the memory whatever the scale.
  constexpr std::uint64_t kBudget = std::uint64_t{1} << 24;
  const std::vector<std::uint64_t> bounds = pass_bounds(scale, edges, kBudget);

  io::RaggedWriter::Options opts;
  opts.overwrite = config.overwrite;
  io::RaggedWriter writer(output, DType::int64, edges, opts);
  const EdgeSource source(config.seed, scale);
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
      if (source.edge(e, lo, hi, src, dst)) keys.push_back((src << scale) | dst);
    }
    std::sort(keys.begin(), keys.end());
    std::size_t k = 0;
    for (std::uint64_t v = lo; v < hi; ++v) {
      row.clear();
      while (k < keys.size() && (keys[k] >> scale) == v)
        row.push_back(static_cast<std::int64_t>(keys[k++] & dst_mask));
      writer.append_row(row.data(), row.size());
    }
    written += keys.size();
    if (progress) progress(written * sizeof(std::int64_t), total_bytes);
  }
  writer.finish();
}

}  // namespace carlo::datagen
