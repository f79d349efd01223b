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

/// Index of the first of v[0, n) that is at least `limit`, or n if none is. The hot kernel of the
/// id check (long by design): a branch-free OR over chunks that g++ vectorizes at -O2 (16-byte
/// vectors for every width, -fopt-info-vec), then the exact index in the chunk that failed. When
/// limit <= 2^(bits-1), x >= limit exactly when the top bit of x | ~(x - limit) is set (x below
/// 2^(bits-1): x - limit borrows iff x < limit; x above: its own top bit), which needs no unsigned
/// compare, absent for 64 bits in SSE2; otherwise (unsigned ids of 8 or 32 bits only) a compare.
template <class U>
std::uint64_t first_at_or_above(const U* v, std::uint64_t n, U limit) noexcept {
  static_assert(std::is_unsigned_v<U>);
  constexpr U kTop = static_cast<U>(U{1} << (8 * sizeof(U) - 1));
  constexpr std::uint64_t kChunk = 4096;
  std::uint64_t i = 0;
  if (limit <= kTop) {
    for (; i + kChunk <= n; i += kChunk) {
      const U* p = v + i;
      U acc = 0;
      for (std::uint64_t j = 0; j < kChunk; ++j)
        acc |= static_cast<U>(p[j] | static_cast<U>(~static_cast<U>(p[j] - limit)));
      if (acc & kTop) break;
    }
  } else {
    for (; i + kChunk <= n; i += kChunk) {
      const U* p = v + i;
      U acc = 0;
      for (std::uint64_t j = 0; j < kChunk; ++j) acc |= static_cast<U>(p[j] >= limit);
      if (acc != 0) break;
    }
  }
  for (; i < n; ++i)
    if (v[i] >= limit) return i;
  return n;
}

/// Index of the first of v[0, n) that is not a node id in [0, rows), or n if all are. Compared as
/// unsigned: a negative id is then at least 2^(bits-1), above every id a T can hold.
template <class T>
std::uint64_t first_bad_id(const T* v, std::uint64_t n, std::uint64_t rows) noexcept {
  using U = std::make_unsigned_t<T>;
  // Ids of T are below 2^(bits-1) if T is signed or 64 bits wide (no graph has 2^63 nodes), else
  // below 2^bits; when rows reaches that bound, only the sign can make an id bad.
  constexpr std::uint64_t kIds = std::is_signed_v<T> || sizeof(T) == 8
                                     ? std::uint64_t{1} << (8 * sizeof(T) - 1)
                                     : std::uint64_t{1} << (8 * sizeof(T));
  if (!std::is_signed_v<T> && sizeof(T) < 8 && rows >= kIds) return n;
  // Signed and unsigned variants of a type may alias (basic.lval).
  return first_at_or_above(reinterpret_cast<const U*>(v), n, static_cast<U>(std::min(rows, kIds)));
}

/// The cheap checks, in `create`: a graph with nodes, integer ids.
void validate_graph(const RaggedView& g) {
  if (g.empty() || g.rows == 0) throw InputError("walk: the graph has no nodes (0 rows)");
  if (!dtype_is_integer(g.dtype))
    throw InputError("walk: neighbour ids must be integers, but values are " +
                     std::string(dtype_name(g.dtype)));
}

/// The id check (SimulationInfo::check_data): every neighbour id of rows [rows.first, rows.last)
/// is a node, in [0, g.rows). Leaves other value types to `create`.
void check_ids(const RaggedView& g, RowRange rows) {
  visit_dtype(g.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_integral_v<T>) {
      const T* v = static_cast<const T*>(g.values);
      const std::uint64_t begin = g.offsets[rows.first], end = g.offsets[rows.last];
      const std::uint64_t bad = begin + first_bad_id(v + begin, end - begin, g.rows);
      if (bad == end) return;
      // The row holding value `bad`: offsets[row] <= bad < offsets[row + 1].
      const std::uint64_t* row_end =
          std::upper_bound(g.offsets + rows.first, g.offsets + rows.last + 1, bad);
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
  info.check_data = [](const OptionValues&, const RaggedView& data, RowRange rows) {
    check_ids(data, rows);
  };
  return info;
}

}  // namespace carlo::sims
