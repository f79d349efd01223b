// `bootstrap` (DESIGN §5): task t picks K rows uniformly with replacement (empty rows redrawn); for
// each, it resamples L values uniformly with replacement from the row's L values and takes their
// mean; observation `estimate` = the average of the K resampled means.

#include "sims/builtin.h"

#include <algorithm>

namespace carlo::sims {
namespace {

// Indices are drawn a chunk at a time, then gathered: the gather loop has no dependence on the
// generator, so the CPU overlaps many loads (rows of a multi-GB file are far larger than L1).
constexpr std::size_t kChunk = 256;

template <class T>
double resampled_mean(std::span<const T> row, Stream& rng) {
  const std::uint64_t n = row.size();
  double sum = 0;
  if (n <= 0xffffffffULL) {
    const auto n32 = static_cast<std::uint32_t>(n);
    std::uint32_t idx[kChunk];
    for (std::uint64_t done = 0; done < n;) {
      const auto m = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, n - done));
      for (std::size_t j = 0; j < m; ++j) idx[j] = rng.below32(n32);
      for (std::size_t j = 0; j < m; ++j) sum += static_cast<double>(row[idx[j]]);
      done += m;
    }
  } else {
    for (std::uint64_t j = 0; j < n; ++j) sum += static_cast<double>(row[rng.below(n)]);
  }
  return sum / static_cast<double>(n);
}

class Bootstrap final : public Simulation {
 public:
  Bootstrap(const RaggedView& data, std::uint64_t rows_per_task) : data_(data), k_(rows_per_task) {}
  std::vector<std::string> observation_names() const override { return {"estimate"}; }
  void run(Task& task) override {
    visit_dtype(data_.dtype, [&](auto tag) {
      using T = decltype(tag);
      Stream& rng = task.rng();
      double acc = 0;
      for (std::uint64_t k = 0; k < k_; ++k) {
        std::uint64_t r;
        do r = rng.below(data_.rows);
        while (data_.row_length(r) == 0);
        acc += resampled_mean(data_.row_unchecked<T>(r), rng);
      }
      task.observe(0, acc / static_cast<double>(k_));
    });
  }

 private:
  RaggedView data_;
  std::uint64_t k_;
};

}  // namespace

SimulationInfo bootstrap_info() {
  SimulationInfo info;
  info.name = "bootstrap";
  info.summary = "bootstrap resampling of grouped measurements (groups file)";
  info.data = DataNeed::required;
  info.declare_options = [](OptionSet& o) {
    o.add_int("rows-per-task", 64, "rows (groups) each task resamples, chosen with replacement");
  };
  info.create = [](const OptionValues& opts,
                   const RaggedView& data) -> std::unique_ptr<Simulation> {
    const auto k = opts.get_int("rows-per-task");
    if (k < 1)
      throw InputError("--rows-per-task must be at least 1 (got " + std::to_string(k) + ")");
    bool any = false;
    for (std::uint64_t i = 0; i < data.rows && !any; ++i) any = data.row_length(i) > 0;
    if (!any) throw InputError("bootstrap: the data has no non-empty row to resample");
    return std::make_unique<Bootstrap>(data, static_cast<std::uint64_t>(k));
  };
  return info;
}

}  // namespace carlo::sims
