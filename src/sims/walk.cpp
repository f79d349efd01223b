// `walk` (DESIGN §5): random-walk PageRank. Task t runs W walks with damping alpha; each starts at
// a uniform random node; at every node: visits[cur] += 1, stop with probability 1 - alpha, else
// move to a uniformly chosen entry of row cur (duplicates count) or, if the row is empty, to a
// uniform random node. visits / sum(visits) estimates PageRank with uniform teleport and dangling
// mass spread uniformly. Observation `steps` = the visits the task recorded (its share of
// sum(visits)). Walk w of the task draws only from task.substream(w).
//
// The kernel, why it interleaves walks and why each rank keeps a compact copy of the row index
// (4 (rows + 1) bytes, 16 MiB at 2^22 nodes, on huge pages) are in walk_kernel.h.

#include "sims/builtin.h"
#include "sims/walk_kernel.h"

#include <algorithm>
#include <optional>
#include <span>
#include <sstream>
#include <type_traits>

namespace carlo::sims {
namespace {

class Walk final : public Simulation {
 public:
  Walk(const RaggedView& g, std::uint64_t walks, double alpha)
      : g_(g), walks_(walks), continue_below_(walk_detail::continue_threshold(alpha)) {
    // Built once per rank, here rather than per task; the graph's own offsets when ids do not fit.
    if (walk_detail::CompactOffsets::fits(g)) compact_.emplace(g);
  }
  std::vector<std::string> observation_names() const override { return {"steps"}; }
  std::vector<TallySpec> tally_specs() const override { return {{"visits", g_.rows}}; }
  void run(Task& task) override {
    const std::uint64_t steps = visit_dtype(g_.dtype, [&](auto tag) -> std::uint64_t {
      using T = decltype(tag);
      if constexpr (std::is_integral_v<T>) {
        auto substream = [&](std::uint64_t walk) { return task.substream(walk); };
        auto visit = [&](std::span<const std::uint64_t> nodes) { task.tally_ones(0, nodes); };
        if (!compact_)
          return walk_detail::run_walks<T>(g_, walks_, continue_below_, substream, visit);
        return walk_detail::run_walks<T>(compact_->index(), walk_detail::readable_values<T>(g_),
                                         g_.rows, walks_, continue_below_, substream, visit);
      } else {
        throw TaskError("walk: values are not integers");  // refused at setup
      }
    });
    task.observe(0, static_cast<double>(steps));
  }

 private:
  RaggedView g_;
  std::uint64_t walks_;
  std::uint64_t continue_below_;
  std::optional<walk_detail::CompactOffsets> compact_;  // absent when n_values >= 2^32
};

/// First value outside [0, rows), as its index, or n_values if all are in range.
template <class T>
std::uint64_t first_bad_id(const T* v, std::uint64_t n, std::uint64_t rows) noexcept {
  std::uint64_t i = 0;
  if constexpr (std::is_signed_v<T>) {
    // Branch-free chunks so the scan of a multi-GB array runs at memory speed; exact index after.
    constexpr std::uint64_t kChunk = 4096;
    for (; i + kChunk <= n; i += kChunk) {
      bool bad = false;
      for (std::uint64_t j = i; j < i + kChunk; ++j)
        bad |= (v[j] < 0) | (static_cast<std::uint64_t>(v[j]) >= rows);
      if (bad) break;
    }
    for (; i < n; ++i)
      if (v[i] < 0 || static_cast<std::uint64_t>(v[i]) >= rows) return i;
  } else {
    constexpr std::uint64_t kChunk = 4096;
    for (; i + kChunk <= n; i += kChunk) {
      bool bad = false;
      for (std::uint64_t j = i; j < i + kChunk; ++j)
        bad |= static_cast<std::uint64_t>(v[j]) >= rows;
      if (bad) break;
    }
    for (; i < n; ++i)
      if (static_cast<std::uint64_t>(v[i]) >= rows) return i;
  }
  return n;
}

void validate_graph(const RaggedView& g) {
  if (g.empty() || g.rows == 0) throw InputError("walk: the graph has no nodes (0 rows)");
  if (!dtype_is_integer(g.dtype))
    throw InputError("walk: neighbour ids must be integers, but values are " +
                     std::string(dtype_name(g.dtype)));
  visit_dtype(g.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_integral_v<T>) {
      const T* v = static_cast<const T*>(g.values);
      const std::uint64_t bad = first_bad_id(v, g.n_values, g.rows);
      if (bad == g.n_values) return;
      // The row holding value `bad`: offsets[row] <= bad < offsets[row + 1].
      const std::uint64_t* row_end = std::upper_bound(g.offsets, g.offsets + g.rows + 1, bad);
      const auto row = static_cast<std::uint64_t>(row_end - g.offsets) - 1;
      std::ostringstream msg;
      msg << "walk: row " << row << " has neighbour id " << +v[bad] << " outside [0, " << g.rows
          << ")";
      throw InputError(msg.str());
    }
  });
}

}  // namespace

SimulationInfo walk_info() {
  SimulationInfo info;
  info.name = "walk";
  info.summary = "random-walk PageRank: tally node visits of damped random walks (graph file)";
  info.data = DataNeed::required;
  info.declare_options = [](OptionSet& o) {
    o.add_int("walks-per-task", 1000, "walks each task runs, each from a uniform random node");
    o.add_real("alpha", 0.85, "damping: probability of moving on after each visit, in [0, 1)");
  };
  info.create = [](const OptionValues& opts,
                   const RaggedView& data) -> std::unique_ptr<Simulation> {
    const auto w = opts.get_int("walks-per-task");
    if (w < 1)
      throw InputError("--walks-per-task must be at least 1 (got " + std::to_string(w) + ")");
    const double alpha = opts.get_real("alpha");
    if (!(alpha >= 0 && alpha < 1))
      throw InputError("--alpha must be in [0, 1) (got " + std::to_string(alpha) + ")");
    validate_graph(data);
    return std::make_unique<Walk>(data, static_cast<std::uint64_t>(w), alpha);
  };
  return info;
}

}  // namespace carlo::sims
